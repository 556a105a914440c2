"""Shared words: rung kinds, technology fields, honours and zones, by code with their labels.

The lowest floor of the house: standard library only, so the rules engine, the enterprise
records, the imports and the templates all read the same tables without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Rung codes in ladder order, with the label shown to people.
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "tech_sme": "科技型中小企业",
        "chuying": "雏鹰企业",
        "dengling": "瞪羚企业",
        "hnte": "国家高新技术企业",
        "leader_cultivation": "科技领军培育企业",
        "leader": "科技领军企业",
    }
)

#: The eight state-supported fields, 《国家重点支持的高新技术领域》 (国科发火〔2016〕32号 附件).
TECH_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "electronic_information": "电子信息",
        "biomedicine": "生物与新医药",
        "aerospace": "航空航天",
        "new_materials": "新材料",
        "high_tech_services": "高技术服务",
        "new_energy": "新能源与节能",
        "resources_environment": "资源与环境",
        "advanced_manufacturing": "先进制造与自动化",
    }
)

#: Honours an enterprise may hold (eligibility.md "honours").
HONOURS: Mapping[str, str] = MappingProxyType(
    {
        "hnte_valid": "持有有效期内的高新技术企业证书",
        "provincial_rd_institution": "拥有省部级以上研发机构",
        "national_award_top3_5y": "近五年内获国家级科技奖励且排名前三",
        "led_standard_5y": "近五年内主导制定国际、国家或行业标准",
        "software_certified": "拥有有效的软件企业证书和软件产品证书",
        "contest_award": "获得雏鹰条件要求级别的创新创业大赛奖项",
        "sci_award": "获得过国家级或省部级科学技术奖励",
        "drafted_standard": "参与制定国际、国家、行业、地方、团体或企业标准",
        "vc_investment_1m": "获得单笔单家100万元以上创业投资",
        "sci_project": "承担过国家级或省部级科技计划项目",
    }
)

#: Binhai New Area sub-areas (domain.md §5.1).
#: code -> (short Chinese name, full Chinese name); order is the bureau's reporting order
ZONES: dict[str, tuple[str, str]] = {
    "teda": ("经开区", "天津经济技术开发区"),
    "bonded": ("保税区", "天津港保税区"),
    "hitech": ("高新区", "滨海高新技术产业开发区"),
    "dongjiang": ("东疆", "东疆综合保税区"),
    "ecocity": ("生态城", "中新天津生态城"),
    "towns": ("其他街镇", "其他街镇"),
}

#: Where a record came from (``source`` columns of figures, titles, tenancies, transitions).
SOURCES: Mapping[str, str] = MappingProxyType({
    "manual": "手工录入",
    "import": "批量导入",
    "demo": "演示数据",
    "tenant_report": "在孵企业报送",
    "api": "接口",
    "move_on": "转入下一载体",
    "proposal": "审核通过的申请",
    "application": "申报获批",
    "expiry": "资质到期",
    "revocation": "资质撤销",
    "merge": "企业合并",
    "direct": "直接录入",
})
