"""Invented article text for the sample portal, with the truth it was built from.

Every article is a function of ``(seed, index)`` alone, so a portal that grows by
``add_articles`` serves the same older articles it served before. The text is
composed here from phrase pools (project signings, groundbreakings, investment
fairs, new factories, policies); the places are real districts and cities that the
gazetteer resolves, the zones and companies are invented.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.models import CHINA_TZ

#: (breadcrumb region, its full name, province, invented zones filed under it)
PLACES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("西城区", "西城区", "北京市", ("白塔寺文创园区", "广安门科技园区")),
    ("海淀区", "海淀区", "北京市", ("上庄智造园区", "西山信创产业园区")),
    ("嘉兴", "嘉兴市", "浙江省", ("乍浦湾临港开发区", "南湖微电子产业园区", "秀洲光伏高新区")),
    ("宁波", "宁波市", "浙江省", ("梅山湾港区", "北岸新材料园区", "姚江智能制造开发区")),
    ("湖州", "湖州市", "浙江省", ("太湖南岸绿色开发区", "安吉竹木产业园区")),
    (
        "苏州", "苏州市", "江苏省",
        ("阳澄湖数字经济园区", "吴淞江生物医药开发区", "太湖湾科创高新区"),
    ),
    ("无锡", "无锡市", "江苏省", ("锡东物联网园区", "蠡湖半导体高新区")),
    ("江宁区", "江宁区", "江苏省", ("秦淮源智能网联开发区", "方山生命科技园区")),
    ("东莞", "东莞市", "广东省", ("松湖智谷高新区", "麻涌临港开发区", "长安模具产业园区")),
    ("佛山", "佛山市", "广东省", ("顺德家电智造园区", "三龙湾科创开发区")),
    ("黄埔区", "黄埔区", "广东省", ("知识城南部开发区", "长洲岛港区")),
    ("成都", "成都市", "四川省", ("龙泉山汽车产业园区", "锦江绿道科创园区", "双流航空开发区")),
    ("绵阳", "绵阳市", "四川省", ("科学城电子信息园区", "游仙新材料开发区")),
    ("青岛", "青岛市", "山东省", ("胶州湾临港开发区", "崂山海洋科技园区", "西海岸影视产业园区")),
    ("烟台", "烟台市", "山东省", ("芝罘湾港区", "蓬莱葡萄酒产业园区")),
    ("合肥", "合肥市", "安徽省", ("巢湖东岸新能源园区", "庐阳量子科技高新区")),
    ("武汉", "武汉市", "湖北省", ("汤逊湖光谷园区", "沌口车谷开发区")),
)

#: Every (zone, region, province) the sample files articles under.
ZONES: tuple[tuple[str, str, str], ...] = tuple(
    (zone, region, province) for region, _, province, zones in PLACES for zone in zones
)

CATEGORIES = ("文字新闻", "文字新闻", "文字新闻", "招商动态", "项目建设")

_INDUSTRIES = (
    ("新能源汽车零部件", "电驱动总成"), ("集成电路封装测试", "先进封装基板"),
    ("生物医药", "创新制剂"), ("智能装备", "工业机器人"), ("新型储能", "储能电芯"),
    ("光伏组件", "高效异质结电池"), ("高端纺织", "功能性面料"), ("航空零部件", "航空结构件"),
    ("医疗器械", "体外诊断试剂"), ("海洋装备", "深远海养殖平台"), ("新材料", "碳纤维复合材料"),
    ("数字文创", "超高清视频内容"), ("绿色食品", "冷链预制菜"), ("智能家电", "变频压缩机"),
)
_FIRST = ("华", "瑞", "博", "恒", "远", "启", "鼎", "凯", "泰", "德", "嘉", "宏", "中", "新", "锐")
_SECOND = ("芯", "源", "拓", "川", "辰", "衡", "越", "航", "智", "诚", "融", "晟", "铭", "禾", "达")
_SUFFIX = (
    "科技股份有限公司", "新材料有限公司", "智能装备有限公司", "生物科技有限公司", "集团有限公司",
)
_CITIES = ("上海", "深圳", "杭州", "南京", "香港", "新加坡", "广州", "西安", "厦门", "天津")
_SEASONS = ("春季", "夏季", "秋季", "冬季")

#: Written into GB2312-declared pages: 镕 is GBK-only, 𠮷 is GB18030-only.
RARE_SENTENCE = "项目技术负责人朱镕𠮷介绍，首条产线已完成设备联调。"


def _company(rng: random.Random) -> str:
    return rng.choice(_FIRST) + rng.choice(_SECOND) + rng.choice(_SUFFIX)


@dataclass(frozen=True, slots=True)
class SampleText:
    """The words of one article; the portal adds URL, markup variant and charset."""

    title: str
    published: datetime
    source: str
    zone: str
    region: str
    province: str
    category: str
    paragraphs: tuple[str, ...]

    @property
    def content(self) -> str:
        """The body as the extractor emits it: escaped ``<p>`` paragraphs."""
        return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in self.paragraphs)


#: Article k is published START + k * STEP: newer articles have larger indexes.
START = datetime(2023, 1, 2, tzinfo=CHINA_TZ)
STEP = timedelta(hours=9)


def make_text(
    seed: int,
    index: int,
    *,
    rare: bool = False,
    start: datetime = START,
    place: tuple[str, str, str] | None = None,
    stream: str = "zonewire-sample",
) -> SampleText:
    """The article at ``index`` of the portal built with ``seed``.

    ``start`` is when article 0 was published; a live demo portal moves it so that
    its newest article is from today (see ``SamplePortal.start``). ``place`` (zone,
    region, province) fixes the place, for a zone's own website, whose articles come
    from their own ``stream`` of randomness.
    """
    rng = random.Random(f"{stream}:{seed}:{index}")
    picked = ZONES[rng.randrange(len(ZONES))]
    zone, region, province = place or picked
    full = next(f for r, f, _, _ in PLACES if r == region)
    when = start + index * STEP
    if rng.random() < 0.7:
        when = when.replace(hour=0, minute=0)
    else:
        when = when.replace(minute=rng.choice((0, 15, 30, 45)))
    industry, product = rng.choice(_INDUSTRIES)
    slots = {
        "zone": zone, "region": full, "company": _company(rng), "industry": industry,
        "product": product, "amount": rng.choice((3, 5, 8, 12, 15, 20, 26, 35, 50, 80)),
        "area": rng.randrange(60, 900, 10), "jobs": rng.randrange(150, 3000, 50),
        "output": rng.randrange(5, 120), "count": rng.randrange(6, 48),
        "city": rng.choice(_CITIES), "season": rng.choice(_SEASONS),
        "m": when.month, "d": when.day, "projects": rng.randrange(8, 40),
    }
    kind = _KINDS[rng.randrange(len(_KINDS))]
    title = rng.choice(kind[0]).format(**slots)
    body = [p.format(**slots) for p in kind[1]]
    body.append(rng.choice(_CLOSERS).format(**slots))
    if rare:
        body.insert(1, RARE_SENTENCE)
    source = rng.choice(_SOURCES).format(zone=zone, region=full, short=region.rstrip("区"))
    return SampleText(
        title=title, published=when, source=source, zone=zone, region=region,
        province=province, category=rng.choice(CATEGORIES), paragraphs=tuple(body),
    )


_SOURCES = (
    "{region}人民政府", "{zone}管委会", "{short}日报", "{region}融媒体中心", "{region}投资促进局",
)

_KINDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("{zone}签约{company}{industry}项目", "总投资{amount}亿元{industry}项目落户{zone}"),
        (
            "{m}月{d}日，{zone}与{company}举行{industry}项目签约仪式。项目计划总投资{amount}亿元，"
            "规划用地约{area}亩，主要建设{product}生产线及配套研发中心。",
            "据介绍，{company}长期深耕{industry}领域，在{product}方面拥有{count}项发明专利。"
            "项目全部达产后，预计年产值{output}亿元，新增就业岗位{jobs}个。",
        ),
    ),
    (
        ("{zone}{projects}个重大项目集中开工", "{zone}举行{season}重大项目集中开工活动"),
        (
            "{m}月{d}日，{zone}{season}重大项目集中开工活动举行，{projects}个项目同步开工，"
            "总投资{amount}亿元，涵盖{industry}、现代物流和城市更新等领域。",
            "其中，{company}{product}项目占地{area}亩，建成后将成为区域内规模最大的"
            "{product}生产基地。",
        ),
    ),
    (
        ("{zone}赴{city}举办{industry}产业投资推介会", "{zone}{industry}专场招商会在{city}举行"),
        (
            "近日，{zone}在{city}举办{industry}产业投资推介会，{count}家企业和机构代表参加。",
            "推介会上，园区介绍了{industry}产业链布局、要素保障和专项扶持政策，"
            "现场签约项目{projects}个，意向投资额{amount}亿元。",
            "与会企业表示，看好园区在{product}配套方面的基础，将与园区共建联合R&D中心。",
        ),
    ),
    (
        ("{company}{product}项目在{zone}竣工投产", "{zone}{product}项目首批产品下线"),
        (
            "{m}月{d}日，{company}位于{zone}的{product}项目正式投产，首批产品顺利下线。",
            "该项目从签约到投产用时{count}个月，总投资{amount}亿元，"
            "可年产{product}约{output}万件，带动就业{jobs}人。",
        ),
    ),
    (
        ("{zone}出台支持{industry}产业发展若干措施", "{zone}发布{industry}产业专项扶持政策"),
        (
            "为加快培育{industry}产业集群，{zone}近日出台{count}条专项支持措施，"
            "对新落户的重点项目给予最高{amount}00万元的设备投资补助。",
            "措施还明确，对{product}等关键环节的首台套产品给予奖励，并在厂房租金、"
            "人才公寓和子女入学方面提供配套保障。",
        ),
    ),
    (
        ("{region}调研{zone}重点企业", "{region}主要负责同志到{zone}开展营商环境调研"),
        (
            "{m}月{d}日，{region}主要负责同志一行到{zone}调研，实地察看{company}生产车间和"
            "{product}研发平台，听取企业发展情况汇报。",
            "调研组指出，要持续优化营商环境，围绕{industry}产业链精准招商，"
            "帮助企业解决用地、用工和融资等方面的实际困难。",
        ),
    ),
)

_CLOSERS = (
    "{zone}有关负责人表示，将组建工作专班全程跟踪服务，推动项目早投产、早见效。",
    "下一步，{zone}将聚焦{industry}主导产业，持续开展产业链招商，力争全年新引进亿元以上项目{projects}个。",
    "今年以来，{zone}累计签约项目{count}个，协议总投资超过{output}亿元。",
    "据悉，{zone}已集聚{industry}上下游企业{count}家，正加快建设专业化标准厂房。",
)
