"""The demo's users, one per role, and the one password they share (documented in the README).

Kept below tracker.demo so each feature's demo additions can create users without importing the
loader that calls them.
"""

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    ("admin@demo.binhai", "管理员", "admin", None),
    ("bureau@demo.binhai", "王科员（区科技局）", "bureau", None),
    ("zone@demo.binhai", "李专员（高新区）", "zone", "hitech"),
    ("incubator@demo.binhai", "赵经理（滨海创新孵化器）", "carrier_manager", None),
    ("viewer@demo.binhai", "刘主任（领导）", "viewer", None),
]
