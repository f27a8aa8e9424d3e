from __future__ import annotations

import pytest

from feeds.models import RegionLevel
from feeds.regions import (
    Ambiguous,
    Gazetteer,
    Unknown,
    apply_aliases,
    core_name,
    looks_like_zone,
    pad_adcode,
    slugify,
)


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.default()


@pytest.mark.parametrize(
    ("name", "key", "level", "province"),
    [
        ("嘉兴", "330400", RegionLevel.CITY, "浙江省"),
        ("嘉兴市", "330400", RegionLevel.CITY, "浙江省"),
        ("330400", "330400", RegionLevel.CITY, "浙江省"),
        ("3304", "330400", RegionLevel.CITY, "浙江省"),
        ("西城区", "110102", RegionLevel.DISTRICT, "北京市"),
        ("北京", "110000", RegionLevel.PROVINCE, "北京市"),
        ("浙江", "330000", RegionLevel.PROVINCE, "浙江省"),
        ("广西", "450000", RegionLevel.PROVINCE, "广西壮族自治区"),
        ("东莞", "441900", RegionLevel.CITY, "广东省"),
        ("北京市/朝阳区", "110105", RegionLevel.DISTRICT, "北京市"),
        ("吉林省/长春市/朝阳区", "220104", RegionLevel.DISTRICT, "吉林省"),
        ("长春/朝阳区", "220104", RegionLevel.DISTRICT, "吉林省"),
    ],
)
def test_names_aliases_and_adcodes_resolve(
    gaz: Gazetteer, name: str, key: str, level: RegionLevel, province: str
) -> None:
    region = gaz.resolve(name)
    assert not isinstance(region, (Ambiguous, Unknown)), region
    assert (region.key, region.level) == (key, level)
    assert gaz.lineage(region.key)[-1].name == province


def test_chaoyang_alone_is_ambiguous_between_beijing_and_changchun(gaz: Gazetteer) -> None:
    found = gaz.resolve("朝阳区")
    assert isinstance(found, Ambiguous)
    assert [gaz.label(c) for c in found.candidates] == ["朝阳区 (北京市)", "朝阳区 (长春市)"]


@pytest.mark.parametrize(
    ("context", "key"),
    [
        (["长春朝阳经济开发区"], "220104"),
        (["北京市朝阳区人民政府"], "110105"),
        (["吉林省"], "220104"),
        (["110000"], "110105"),
    ],
)
def test_chaoyang_with_context_picks_the_right_one(
    gaz: Gazetteer, context: list[str], key: str
) -> None:
    found = gaz.resolve("朝阳区", context)
    assert not isinstance(found, (Ambiguous, Unknown))
    assert found.key == key


def test_unknown_name_suggests_close_regions_with_parents(gaz: Gazetteer) -> None:
    found = gaz.resolve("西城")
    assert isinstance(found, Unknown)
    assert gaz.label(found.suggestions[0]) == "西城区 (北京市)"


def test_divisions_come_from_the_data_set_with_six_digit_adcodes(gaz: Gazetteer) -> None:
    provinces = gaz.children(None)
    assert len(provinces) == 34
    assert all(len(r.key) == 6 and r.key.isdigit() for r in gaz)
    assert len(gaz) > 3000


def test_zones_sit_under_the_district_or_city_they_are_filed_under() -> None:
    gaz = Gazetteer.default()
    zone = gaz.add_zone("嘉兴港区", "330400")
    assert zone.key == "zone-jiaxinggangqu"
    assert [r.name for r in gaz.lineage(zone.key)] == ["嘉兴港区", "嘉兴市", "浙江省"]
    assert gaz.resolve("嘉兴港区") == zone
    assert gaz.add_zone("嘉兴港区", "110102") == zone  # first parent wins


def test_helpers() -> None:
    assert pad_adcode("33") == "330000"
    assert slugify("中关村科技园区德胜园") == "zhongguancunkejiyuanqudeshengyuan"
    assert slugify("Zone A1 园区") == "zone-a1-yuanqu"
    assert (
        looks_like_zone("嘉兴港区")
        and looks_like_zone("苏州工业园")
        and not looks_like_zone("嘉兴")
    )


def test_an_alias_settles_a_name_for_good() -> None:
    gaz = Gazetteer.default()
    assert apply_aliases(gaz, {"朝阳区": "北京市/朝阳区", "金融街": "西城区"}) == []
    assert gaz.resolve("朝阳区").key == "110105"  # type: ignore[union-attr]
    assert gaz.resolve("金融街").key == "110102"  # type: ignore[union-attr]
    problems = apply_aliases(Gazetteer.default(), {"a": "朝阳区", "b": "西城"})
    assert problems[0].startswith("alias 'a': '朝阳区' is ambiguous; write 北京市/朝阳区 or")
    assert problems[1] == "alias 'b': '西城' is not a known region — did you mean 西城区 (北京市)?"


def test_applying_aliases_again_replaces_the_earlier_ones() -> None:
    gaz = Gazetteer.default()
    apply_aliases(gaz, {"朝阳区": "北京市/朝阳区"})
    apply_aliases(gaz, {})  # the alias was removed from the configuration
    assert isinstance(gaz.resolve("朝阳区"), Ambiguous)


@pytest.mark.parametrize(("name", "core"), [
    ("嘉兴市", "嘉兴"),
    ("广西壮族自治区", "广西"),  # the long official suffix first
    ("香港特别行政区", "香港"),
    ("锡林郭勒盟", "锡林郭勒"),
    ("大兴安岭地区", "大兴安岭"),  # 地区, not 区
    ("长阳土家族自治县", "长阳土家族"),
    ("海淀区", "海淀"),
    ("西城", "西城"),  # no suffix: unchanged
    ("新区", "新区"),  # two characters must stay
])
def test_core_name_drops_one_administrative_suffix(name: str, core: str) -> None:
    assert core_name(name) == core
