"""The plan's indicators and periods as seed data: the rows a fresh installation starts from.

Standard library only, so the migration's data step and the demo/test seeding read the same
values. Source: 滨海新区科技创新"十四五"规划 (issued Oct 2021) targets, domain.md §5.2, and the
2020 baseline from the plan's official Q&A, domain.md §5.3. The plan has 20 indicators in four
groups; domain.md does not list all 20 nor which group each belongs to, so the 16 targets it
gives (the fund target split into count and size) plus the tech-SME stock it gives a baseline
for are encoded, grouped by their subject. Admins add or correct the rest as data.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

#: group code -> label, in the plan's order (domain.md §5.3: "20 indicators in four groups")
GROUPS: dict[str, str] = {
    "capability": "自主创新能力",
    "actors": "创新主体规模",
    "transfer": "成果转化",
    "ecosystem": "创新创业生态",
}

#: how an indicator gets its actual figure
METHODS = {"computed": "系统按记录计算", "entered": "科技局按年录入"}

#: (code, group, label, unit, method, basis: what the number counts, decimals)
INDICATORS: list[tuple[str, str, str, str, str, str, int]] = [
    ("rd_intensity", "capability", "全社会研发经费支出占地区生产总值比重", "%", "entered",
     "年度统计值（流量），全区", 2),
    ("fiscal_st_share", "capability", "财政科技投入占本级财政支出比重", "%", "entered",
     "年度统计值（流量），全区", 2),
    ("high_value_patents", "capability", "每万人口高价值发明专利拥有量", "件", "entered",
     "年末存量，全区", 2),
    ("rd_centres", "capability", "市级以上研发中心", "个", "entered",
     "年末存量（累计认定且有效），全区", 0),
    ("new_rd_institutions", "capability", "新型研发机构", "家", "entered",
     "年末存量，全区", 0),
    ("hnte", "actors", "国家高新技术企业", "家", "computed",
     "持有有效国家高新技术企业证书的企业（时点存量；按发证日期、有效期和撤销日期判断）", 0),
    ("tech_sme", "actors", "国家科技型中小企业", "家", "computed",
     "持有有效科技型中小企业入库登记编号的企业（时点存量）", 0),
    ("chuying", "actors", "雏鹰企业", "家", "computed",
     "持有有效雏鹰企业资格的企业（时点存量；已升至更高梯度但雏鹰资格仍有效的也计入，"
     "并非“最高梯度为雏鹰”的企业数）", 0),
    ("dengling", "actors", "瞪羚企业", "家", "computed",
     "持有有效瞪羚企业资格的企业（时点存量；并非“最高梯度为瞪羚”的企业数）", 0),
    ("leader_any", "actors", "科技领军（培育）企业", "家", "computed",
     "持有有效科技领军企业或科技领军培育企业资格的企业（时点存量；两者都持有的计一家）", 0),
    ("tech_contracts", "transfer", "年技术合同成交额", "亿元", "entered",
     "当年成交额（流量），全区", 2),
    ("st_service_institutions", "transfer", "科技服务机构", "家", "entered",
     "年末存量，全区", 0),
    ("national_maker_space", "ecosystem", "国家级众创空间", "家", "computed",
     "认定体系为国家备案众创空间、未归档的载体（按当前认定状态）", 0),
    ("national_pro_maker_space", "ecosystem", "国家专业化众创空间", "家", "entered",
     "年末存量，全区", 0),
    ("national_incubator", "ecosystem", "国家级孵化器", "家", "computed",
     "认定为国家级孵化器（国科发区〔2018〕300号，或工信部2025标准级/卓越级）、未归档的载体"
     "（按当前认定状态）", 0),
    ("industry_funds", "ecosystem", "产业创新基金数量", "只", "entered", "年末存量，全区", 0),
    ("industry_fund_size", "ecosystem", "产业创新基金规模", "亿元", "entered",
     "年末认缴规模，全区", 2),
    ("university_parks", "ecosystem", "高水平大学科技园", "个", "entered", "年末存量，全区", 0),
]

#: computed indicators whose figure follows the user's zone; the others are district-wide
ZONE_SCOPED = frozenset({"hnte", "tech_sme", "chuying", "dengling", "leader_any",
                         "national_maker_space", "national_incubator"})

#: period code -> (name, first year, last year, closed, source title, number, date)
PERIODS: dict[str, tuple[str, int, int, bool, str | None, str | None, date | None]] = {
    "14th": ("十四五", 2021, 2025, True, "滨海新区科技创新“十四五”规划", None, date(2021, 10, 28)),
    # No Binhai 十五五 S&T plan was found (domain.md §5.5): unconfirmed until a source is recorded.
    "15th": ("十五五", 2026, 2030, False, None, None, None),
}

#: (period, indicator) -> (target, target note, baseline); 十四五 from domain.md §5.2/§5.3
TARGETS: dict[tuple[str, str], tuple[Decimal | None, str | None, Decimal | None]] = {
    ("14th", "rd_intensity"): (None, "不低于全市平均水平", Decimal("3.25")),
    ("14th", "fiscal_st_share"): (Decimal(8), "稳定在8%", None),
    ("14th", "high_value_patents"): (Decimal(24), None, None),
    ("14th", "rd_centres"): (Decimal(550), None, None),
    ("14th", "new_rd_institutions"): (Decimal(12), None, None),
    ("14th", "hnte"): (Decimal(5800), None, Decimal(3270)),
    ("14th", "tech_sme"): (None, "规划未设目标", Decimal(3089)),
    ("14th", "chuying"): (Decimal(2100), None, None),
    ("14th", "dengling"): (Decimal(210), None, None),
    ("14th", "leader_any"): (Decimal(160), None, None),
    ("14th", "tech_contracts"): (Decimal(500), "超过500亿元", None),
    ("14th", "st_service_institutions"): (Decimal(500), None, None),
    ("14th", "national_maker_space"): (Decimal(28), None, None),
    ("14th", "national_pro_maker_space"): (Decimal(6), None, None),
    ("14th", "national_incubator"): (Decimal(20), None, None),
    ("14th", "industry_funds"): (Decimal(8), "超过8只", None),
    ("14th", "industry_fund_size"): (Decimal(1000), "规模1000亿元", None),
    ("14th", "university_parks"): (Decimal(3), None, None),
}
