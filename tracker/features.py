"""The feature packages, in the order the app factory and the Celery setup initialise them."""

#: feature packages; each exposes init_app(app) registering its blueprint, CLI and panels
FEATURES = (
    "accounts", "enterprises", "ladder", "incubation", "reminders", "imports", "dashboard", "api",
    "integrity", "indicators", "webhooks", "bulk", "search",
)
