"""Each normalisation a messy official list needs, table-tested."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.factories import valid_uscc
from tracker.imports import columns
from tracker.imports import normalise as n


def test_uscc_is_trimmed_upper_cased_and_full_width_folded():
    code = valid_uscc(4242)
    messy = " " + code.lower()[:6] + " " + code.lower()[6:] + "\u3000"
    assert n.uscc(messy) == code
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    assert n.uscc(full_width) == code


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [("91120116MA05", "18位"), ("", "请填写"), ("91120116MA05OXXXXX", "不使用字母")],
)
def test_bad_uscc_says_what_is_wrong(raw, fragment):
    with pytest.raises(n.CellError, match=fragment):
        n.uscc(raw)


def test_wrong_check_character_is_not_silently_fixed():
    code = valid_uscc(77)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(n.CellError, match="校验位"):
        n.uscc(wrong)


@pytest.mark.parametrize(
    "raw",
    [datetime(2019, 3, 5), date(2019, 3, 5), "2019年3月5日", "2019 年 03 月 05 日", "2019/03/05",
     "2019/3/5", "2019-03-05", "2019.03.05", "20190305", "2019-03-05 00:00:00", 43529,
     "２０１９－０３－０５"],
)
def test_dates_in_every_usual_spelling(raw):
    assert n.parse_date(raw) == date(2019, 3, 5)


@pytest.mark.parametrize("raw", ["2019/13/05", "2019-02-30", "三月五日", "05/03/2019", "n/a"])
def test_bad_dates_are_refused_with_the_expected_forms(raw):
    with pytest.raises(n.CellError, match="2019-03-05"):
        n.parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,234", 1234), ("1，234", 1234), (" 12 ", 12), (12.0, 12), ("35人", 35), (0, 0)],
)
def test_counts_accept_thousands_separators(raw, expected):
    assert n.count(raw) == expected


@pytest.mark.parametrize(("raw", "message"), [("-1", "负数"), ("1.5", "整数"), ("abc", "数字")])
def test_bad_counts(raw, message):
    with pytest.raises(n.CellError, match=message):
        n.count(raw)


@pytest.mark.parametrize(
    ("raw", "yuan"),
    [("1,234.5678", Decimal("12345678.00")), (0.1, Decimal("1000.00")),
     (1234.56, Decimal("12345600.00")), ("0.000001", Decimal("0.01")), (3, Decimal("30000.00")),
     ("5,000万元", Decimal("50000000.00"))],
)
def test_wan_is_converted_to_yuan_exactly(raw, yuan):
    value = n.money_wan(raw)
    assert value == yuan
    assert isinstance(value, Decimal)


def test_yuan_columns_are_kept_in_yuan():
    assert n.money_yuan("12,345.6") == Decimal("12345.60")


@pytest.mark.parametrize(
    ("raw", "code"),
    [("经开区", "teda"), ("天津经济技术开发区", "teda"), ("保税区", "bonded"), ("高新区", "hitech"),
     ("滨海高新技术产业开发区", "hitech"), ("东疆", "dongjiang"), ("东疆综合保税区", "dongjiang"),
     ("生态城", "ecocity"), ("中新天津生态城", "ecocity"), ("其他街镇", "towns"),
     (" 高新区 ", "hitech"),
     ("hitech", "hitech")],
)
def test_zones_by_short_or_full_name(raw, code):
    assert n.zone(raw) == code


def test_unknown_zone_lists_the_valid_names():
    with pytest.raises(n.CellError, match="经开区、保税区"):
        n.zone("火星")


@pytest.mark.parametrize(
    ("raw", "code"),
    [("电子信息", "electronic_information"), ("生物与新医药", "biomedicine"),
     ("先进制造与自动化", "advanced_manufacturing"), ("新能源与节能", "new_energy"),
     ("高技术服务", "high_tech_services"), (" 新材料 ", "new_materials")],
)
def test_technology_fields_by_official_name(raw, code):
    assert n.tech_field(raw) == code


def test_unknown_technology_field():
    with pytest.raises(n.CellError, match="八大技术领域"):
        n.tech_field("量子")


def test_names_are_trimmed_and_formulas_stay_text():
    assert n.text("  天津甲科技有限公司\u3000") == "天津甲科技有限公司"
    assert n.text('=HYPERLINK("http://x")') == '=HYPERLINK("http://x")'


@pytest.mark.parametrize(
    ("header", "key"),
    [("企业名称", "name"), ("统一社会信用代码", "uscc"), ("成立日期", "founded_on"),
     ("所属区域", "zone"), ("技术领域", "tech_field"), ("联系人", "contact_name"),
     ("联系邮箱", "contact_email"), ("从业人数", "employees"), ("营业收入（万元）", "revenue_wan"),
     ("营业收入(万元)", "revenue_wan"), ("营业收入（元）", "revenue_yuan"), ("* 企业名称", "name"),
     ("统一社会信用代码（必填）", "uscc"),
     ("Company Name", "name"), ("USCC", "uscc"), ("Founded", "founded_on"),
     ("年度", "fiscal_year")],
)
def test_enterprise_headers_are_recognised(header, key):
    assert columns.detect_field("enterprises", header) == key


@pytest.mark.parametrize(
    ("header", "key"),
    [("证书编号", "number"), ("发证日期", "granted_on"), ("认定日期", "granted_on"),
     ("有效期至", "valid_until"), ("批次", "batch"), ("资质类型", "kind")],
)
def test_qualification_headers_are_recognised(header, key):
    assert columns.detect_field("qualifications", header) == key


def test_mapping_checks_name_missing_and_doubled_fields():
    problems = columns.check_mapping("enterprises", {"营业收入（万元）": "revenue_wan",
                                                     "收入": "revenue_yuan"})
    assert any("同一字段" in p for p in problems)
    assert any("统一社会信用代码" in p for p in problems)


@pytest.mark.parametrize(
    ("header", "key"),
    [("所属区域/开发区", "zone"), ("所属区域／开发区", "zone"), ("开发区", "zone"),
     ("所属开发区", "zone"), ("区域、开发区", "zone"), ("企业名称/单位名称", "name"),
     ("营业收入/销售收入（万元）", "revenue_wan"), ("街道/镇", "street"),
     ("统一社会信用代码/纳税人识别号", "uscc"), ("联系电话/手机", "contact_phone"),
     ("所属区域（开发区）", "zone"), ("从业人数（人）", "employees"),
     ("营业收入/销售收入（元）", "revenue_yuan"), ("营业收入（千元）", None),
     ("毕业/退出日期", None)],
)
def test_common_header_variants_map_automatically(header, key):
    assert columns.detect_field("enterprises", header) == key


def test_slash_headers_keep_their_own_meaning_first():
    assert columns.detect_field("tenancies", "毕业/退出日期") == "ended_on"
