"""Temporary: honour codes until the rules engine lands (then imported from rules)."""

HONOUR_LABELS = {
    "hnte_valid": "有效期内高新技术企业",
    "provincial_rd_institution": "省部级以上研发机构",
    "national_award_top3_5y": "近5年国家科技奖（前三完成单位）",
    "led_standard_5y": "近5年主导制定国际/国家/行业标准",
    "software_certified": "软件企业及软件产品证书",
    "contest_award": "创新创业大赛获奖",
    "sci_award": "国家或省部级科技奖励",
    "drafted_standard": "参与制定标准",
    "vc_investment_1m": "单笔单家创业投资≥100万元",
    "sci_project": "承担国家或省部级科技计划项目",
}

#: ladder rungs in order (design.md); codes as in eligibility.md
RUNG_LABELS = {
    "tech_sme": "科技型中小企业",
    "chuying": "雏鹰企业",
    "dengling": "瞪羚企业",
    "hnte": "国家高新技术企业",
    "leader_cultivation": "科技领军培育企业",
    "leader": "科技领军企业",
}
