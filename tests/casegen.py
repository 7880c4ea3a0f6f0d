"""A realistic store of 办不成事 cases for the similar-case, repeat and analysis tests.

Thirty classes of matters a county service center meets, each told in several
wordings (near-duplicates written the way different citizens and staff put them),
including the two real cases of SPEC.md on their real dates; queries written
differently again, with the class they must find; citizens who come back about the
same matter (repeats) and about another one (not repeats). `cases()` gives at least
a hundred; `load()` puts them into a store through the lifecycle, as the window
would have. `bulk_matters()` makes any number of further matters for the benchmark.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from cases import HUO_MECHANISM

# class -> (department, category, subtype, wordings)
CLASSES: dict[str, tuple[str, str, str | None, list[str]]] = {
    "clinic_names": (
        "市场监管窗口、卫健窗口",
        "unhandled",
        None,
        [
            "诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药",
            "门诊部营业执照和医疗机构执业许可证上的名称不一样，医药公司不给配送药品",
            "个体诊所两个证照名字对不上，药品供应商要求提供属于同一主体的证明",
            "口腔诊所营业执照名称与执业许可证名称不统一，进药时被医药公司拒绝",
        ],
    ),
    "pension_card": (
        "社保窗口",
        "unhandled",
        "hard",
        [
            "社保卡自2016年起未年检，养老金停发四年（其子代为反映）",
            "父亲的社会保障卡多年没有年审，养老金被停发，要求补发",
            "老人社保卡未按时年检导致养老金暂停发放，多次到社保窗口未解决",
            "农村养老保险待遇资格认证没有做，退休金停发了三年",
        ],
    ),
    "licence_address": (
        "市场监管窗口",
        "unhandled",
        None,
        [
            "公司搬迁后营业执照住所变更登记一直不予受理",
            "个体工商户经营场所变更，窗口要求房产证明，不认租赁合同",
            "营业执照地址变更跑了三次还没有办下来",
        ],
    ),
    "property_cert": (
        "不动产登记窗口",
        "unhandled",
        "hard",
        [
            "买的商品房交房五年了还办不了房产证",
            "二手房过户后不动产权证书迟迟办不下来",
            "小区开发商不配合，业主的房产证一直办不出来",
        ],
    ),
    "fund_withdraw": (
        "公积金窗口",
        "unhandled",
        None,
        [
            "离职后提取住房公积金被要求提供原单位证明，单位已注销",
            "公积金账户封存后提取，原单位已经倒闭开不了证明",
            "辞职后想取公积金，原单位不配合办理封存",
        ],
    ),
    "hukou_move": (
        "公安户籍窗口",
        "unhandled",
        None,
        [
            "孩子户口从外省迁入，要求的材料来回开了好几次",
            "大学毕业生户口迁回原籍，被要求提供已遗失的报到证",
            "落户用的准迁证过期了，重新办理迁移手续反复跑",
        ],
    ),
    "medical_remote": (
        "医保窗口",
        "unhandled",
        None,
        [
            "异地就医已经备案，医保报销还是按未备案的比例",
            "在外地住院的医疗费用回来报销，医保窗口说材料不全让来回跑",
            "医保卡异地结算失败，回参保地报销又被拒",
        ],
    ),
    "disability_cert": (
        "残联窗口",
        "unhandled",
        "hard",
        [
            "残疾人证换证需要重新鉴定，指定医院排不上号",
            "申请残疾证评定，鉴定医院和残联互相推诿",
        ],
    ),
    "birth_cert": (
        "卫健窗口",
        "unhandled",
        None,
        [
            "新生儿出生医学证明上父亲名字写错，医院说不能改",
            "出生证明信息错误，孩子上不了户口",
            "出生医学证明母亲身份证号填错，申请更正没有人受理",
        ],
    ),
    "truck_inspection": (
        "交通运输窗口",
        "unhandled",
        None,
        [
            "货车道路运输证年审，网上系统一直提交不了",
            "营运车辆年审要求的卫星定位证明，平台不给开",
        ],
    ),
    "food_licence": (
        "市场监管窗口",
        "unhandled",
        None,
        [
            "小饭店申请食品经营许可证，现场核查迟迟不来",
            "食品经营许可证延续申请，超过时限还没有审批",
        ],
    ),
    "company_deregister": (
        "税务窗口",
        "unhandled",
        "hard",
        [
            "公司注销时清税证明开不出来，有一笔查不到的历史欠税",
            "企业简易注销被异议驳回，不知道是谁提的异议",
            "注销公司需要的清税证明税务窗口让找专管员，专管员说找窗口",
        ],
    ),
    "construction_permit": (
        "住建窗口",
        "unhandled",
        "hard",
        [
            "厂房施工许可证审批，材料被反复要求补正",
            "办理施工许可需要的消防设计审查意见等了两个月",
        ],
    ),
    "veteran_card": (
        "退役军人服务窗口",
        "unhandled",
        None,
        [
            "退役军人优待证申领提交后三个月没有消息",
            "优待证信息采集时，系统里查不到本人的退役信息",
        ],
    ),
    "subsistence": (
        "民政窗口",
        "unhandled",
        None,
        [
            "申请低保的材料交了半年没有结果，村里说乡里没批",
            "临时救助申请以户籍不在本地为由被拒绝",
            "低保申请递交后半年无人答复",
        ],
    ),
    "marriage_record": (
        "民政窗口",
        "unhandled",
        None,
        [
            "补办结婚证要求提供原始婚姻档案，民政局说档案找不到",
            "结婚登记档案遗失，无法补领结婚证",
        ],
    ),
    "driving_licence": (
        "车管窗口",
        "unhandled",
        None,
        [
            "驾驶证到期换证，体检医院不被认可，要求去指定医院",
            "驾照期满换证，跨地区办理被拒",
        ],
    ),
    "invoice_lock": (
        "税务窗口",
        "unhandled",
        None,
        [
            "个体户申领增值税发票，一直显示税务登记状态异常",
            "发票领用被锁，说有未申报记录，实际已经申报",
        ],
    ),
    "favours": (
        "市场监管窗口",
        "unhandled",
        "misconduct",
        [
            "窗口工作人员暗示送礼才能尽快办理营业执照",
            "窗口人员让找指定中介代办，收取高额代办费",
            "工作人员索要好处费，不给就说材料不全",
        ],
    ),
    "idle_staff": (
        "不动产登记窗口",
        "unhandled",
        "misconduct",
        [
            "办事员上班时间玩手机，材料放了一周没有人看",
            "窗口人员上班时间长时间离岗，群众排队无人办理",
        ],
    ),
    "pension_transfer": (
        "社保窗口",
        "impossible",
        None,
        [
            "要求在本中心办理跨省养老保险关系转移，须由参保地经办",
            "外省养老保险关系转入本地，本中心没有办理权限",
            "跨省转移社会保险关系，对方省份不出具参保凭证",
        ],
    ),
    "court_seal": (
        "不动产登记窗口",
        "impossible",
        None,
        [
            "要求解除法院对房产的查封，不动产中心无权解封",
            "房屋被法院查封，要求中心直接办理过户",
        ],
    ),
    "elevator": (
        "特种设备窗口",
        "unhandled",
        None,
        [
            "小区电梯年检合格证过期，物业说检测机构排不上",
            "电梯年审逾期半年，检验机构一直不来检验",
        ],
    ),
    "farm_subsidy": (
        "农业农村窗口",
        "unhandled",
        None,
        [
            "耕地地力保护补贴没有发放，乡镇说名单没报上去",
            "种粮补贴今年没有到账，村里和乡里互相推",
        ],
    ),
    "mortgage_release": (
        "不动产登记窗口",
        "unhandled",
        None,
        [
            "房贷还清后抵押注销登记，银行和不动产中心互相推",
            "贷款已经结清，抵押权注销办不了",
        ],
    ),
    "school_enrol": (
        "教育窗口",
        "unhandled",
        None,
        [
            "外来务工人员子女入学要求的居住证明，社区不给开",
            "孩子入学需要居住证，派出所说要先有学校接收证明",
        ],
    ),
    "retire_archive": (
        "人社窗口",
        "unhandled",
        "hard",
        [
            "办理退休审批需要的人事档案找不到，原单位已经改制",
            "退休时个人档案丢失，工龄认定不了",
        ],
    ),
    "kinship_proof": (
        "公安户籍窗口",
        "impossible",
        None,
        [
            "出国需要的亲属关系证明，派出所说不开了，让去公证处，公证处要派出所证明",
            "公证处要求先开亲属关系证明，派出所说已取消此类证明",
        ],
    ),
    "gas_fee": (
        "公共服务窗口",
        "unhandled",
        None,
        [
            "新房开通燃气要求先交初装费，收费标准不公开",
            "燃气开户被收取高额开户费，没有收费依据",
        ],
    ),
    "pharmacy_cert": (
        "市场监管窗口",
        "unhandled",
        None,
        [
            "药店GSP认证取消后换发药品经营许可证不知道去哪里办",
            "药品经营许可证到期换证，窗口说要等新规定",
        ],
    ),
}

# Queries as staff type them: other words than the stored text, with the class they
# must find first.
QUERIES: list[tuple[str, str]] = [
    ("两证名字不一样，药进不来", "clinic_names"),
    ("诊所 名称不一致", "clinic_names"),
    ("养老金停了好几年 社保卡没去年审", "pension_card"),
    ("社会保障卡年检 退休金", "pension_card"),
    ("搬家以后执照上的地址改不了", "licence_address"),
    ("房子买了好多年房产证还没拿到", "property_cert"),
    ("单位倒闭了公积金取不出来", "fund_withdraw"),
    ("在外地看病回来医保报销不了", "medical_remote"),
    ("孩子出生证上爸爸名字错了", "birth_cert"),
    ("还完房贷办抵押注销", "mortgage_release"),
    ("公司注销 清税证明", "company_deregister"),
    ("退役军人优待证办不下来", "veteran_card"),
    ("低保申请半年没批", "subsistence"),
    ("电梯年检过期了", "elevator"),
    ("跨省转移养老保险", "pension_transfer"),
    ("工作人员要好处费", "favours"),
    ("残疾证鉴定排不上", "disability_cert"),
    ("结婚证补办 档案找不到", "marriage_record"),
    ("开燃气收初装费", "gas_fee"),
    ("发票被锁 已经申报了", "invoice_lock"),
    ("亲属关系证明 公证处 派出所", "kinship_proof"),
    ("种粮补贴没到账", "farm_subsidy"),
    ("货车运输证年审提交不了", "truck_inspection"),
    ("退休档案丢了", "retire_archive"),
]

# Two-character words that must be found wherever they occur.
TWO_CHAR = ["社保", "年检", "名称", "注销", "低保", "户口", "医保", "查封"]

ANCHOR = datetime(2021, 3, 1, 9, 0)
SPAN_DAYS = 120  # received from 2021-03-01 to the end of June


@dataclass
class Spec:
    key: str
    cls: str
    matter: str
    phone: str
    received: datetime
    name: str = "群众"
    id_number: str | None = None
    department: str = ""
    category: str | None = None
    subtype: str | None = None
    close_after_days: int | None = None
    result: str = ""
    mechanism: str | None = None  # text of a new one, or "@key": the mechanism of that case
    extra: dict[str, Any] = field(default_factory=dict)


def id_number(body17: str) -> str:
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    total = sum(int(c) * w for c, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


def _phone(i: int) -> str:
    return f"138{i:08d}"


LI_MECHANISM = "社保卡年检到期前由社保窗口短信提醒，逾期未检的名单每季度推送乡镇核实"
CITIZEN_ID = id_number("33010219800101002")  # the citizen of the ID-number repeat


def cases() -> list[Spec]:
    """The fixture: every wording of every class, the SPEC cases on their dates, and
    the citizens who come back."""
    rng = random.Random(20210401)
    out: list[Spec] = []
    n = 0
    for cls, (dept, category, subtype, wordings) in CLASSES.items():
        for j, matter in enumerate(wordings):
            n += 1
            received = ANCHOR + timedelta(
                days=rng.randrange(SPAN_DAYS), hours=rng.randrange(8), minutes=rng.randrange(60)
            )
            spec = Spec(
                key=f"{cls}{j}",
                cls=cls,
                matter=matter,
                phone=_phone(n),
                received=received,
                department=dept,
                category=category,
                subtype=subtype,
            )
            if rng.random() < 0.6:
                spec.close_after_days = rng.randrange(1, 6)
                spec.result = "已协调相关部门办理完毕" if category != "impossible" else "已答复"
            out.append(spec)
    by_key = {s.key: s for s in out}
    # SPEC.md's two cases, as they happened.
    huo = by_key["clinic_names0"]
    huo.key, huo.name, huo.phone = "huo", "霍某某", "13712341111"
    huo.received = datetime(2021, 4, 1, 9, 30)
    huo.close_after_days, huo.result = 5, "中心出具两证属同一诊所的证明"
    huo.mechanism = HUO_MECHANISM
    li = by_key["pension_card0"]
    li.key, li.name, li.phone = "li", "李海清", "13900001111"
    li.received = datetime(2021, 4, 6, 14, 20)
    li.close_after_days, li.result = 3, "省农保中心同意补办年检，停发的养老金于4月底前补发"
    li.mechanism = LI_MECHANISM
    # Later cases of Ms Huo's class are served by her mechanism.
    for spec in out:
        if spec.cls == "clinic_names" and spec.key != "huo":
            spec.received = max(spec.received, datetime(2021, 4, 10, 9, 0))
            spec.close_after_days, spec.result = 1, "窗口核实两证后出具证明"
            spec.mechanism = "@huo"
    # Repeats and non-repeats.
    out += [
        Spec(
            "li_repeat",
            "pension_card",
            "养老金还是没有补发，社保卡年审的问题一直没解决",
            li.phone,
            datetime(2021, 4, 20, 10, 0),
            name="李海清",
            department="社保窗口",
            category="unhandled",
        ),
        Spec(
            "li_other",
            "medical_remote",
            "想办理医保异地就医备案，网上一直提交不了",
            li.phone,
            datetime(2021, 5, 10, 10, 0),
            name="李海清",
            department="医保窗口",
            category="unhandled",
        ),
        Spec(
            "fund_first",
            "fund_withdraw",
            "公积金提取要原单位盖章，单位已经注销了",
            "13600000001",
            datetime(2021, 3, 15, 9, 0),
            id_number=CITIZEN_ID,
            department="公积金窗口",
            category="unhandled",
        ),
        Spec(
            "fund_again",
            "fund_withdraw",
            "原单位注销，公积金提取时没人给盖章，还是办不了",
            "13600000002",
            datetime(2021, 4, 2, 9, 0),
            id_number=CITIZEN_ID,
            department="公积金窗口",
            category="unhandled",
        ),
        Spec(
            "lift_old",
            "elevator",
            "电梯年检合格证过期，检测机构不来",
            "13500000001",
            datetime(2021, 1, 5, 9, 0),
            department="特种设备窗口",
            category="unhandled",
        ),
        Spec(
            "lift_late",
            "elevator",
            "电梯年检合格证又过期了，检测机构还是不来",
            "13500000001",
            datetime(2021, 6, 1, 9, 0),  # 147 days later: outside the 90-day window
            department="特种设备窗口",
            category="unhandled",
        ),
    ]
    # Fill to over a hundred with further citizens telling the commonest matters again.
    extra_wordings = [
        ("clinic_names", "卫生室执业许可证和营业执照的名称有出入，采购药品受阻"),
        ("pension_card", "社保卡长期未年检，老人的养老金停了"),
        ("licence_address", "变更营业执照经营地址，窗口不认可租房合同"),
        ("property_cert", "商品房办证难，交房多年没有不动产权证"),
        ("subsistence", "低保审批拖了很久，乡里村里互相推"),
        ("medical_remote", "异地住院回来报销，医保说备案不全"),
        ("company_deregister", "公司注销卡在清税环节，税务说有欠税记录"),
        ("favours", "窗口人员暗示给好处才受理材料"),
        ("hukou_move", "户口迁移证明来回开了几次还不行"),
        ("mortgage_release", "按揭还清了，抵押注销银行说等通知"),
        ("fund_withdraw", "公积金封存提取，原单位不存在了没法出证明"),
        ("birth_cert", "出生医学证明上孩子姓名打错，医院不给更正"),
        ("elevator", "住宅电梯检验合格证过期，物业推给检测机构"),
        ("invoice_lock", "税务系统显示非正常户，领不了发票"),
        ("school_enrol", "随迁子女上学要居住证明，社区开不了"),
        ("veteran_card", "退役军人优待证一直没有发下来"),
        ("food_licence", "食品经营许可证现场核查一个月没人来"),
        ("construction_permit", "施工许可证办理卡在消防审查"),
        ("gas_fee", "燃气公司开通天然气收费没有标准"),
        ("driving_licence", "驾驶证换证体检，指定医院太远"),
        ("farm_subsidy", "耕地地力补贴没有发到户"),
        ("retire_archive", "人事档案遗失，办不了退休手续"),
        ("disability_cert", "残疾等级鉴定排队半年"),
        ("court_seal", "房产被法院查封，要求不动产中心解封"),
    ]
    for cls, matter in extra_wordings:
        dept, category, subtype, _ = CLASSES[cls]
        n += 1
        out.append(
            Spec(
                f"{cls}_x",
                cls,
                matter,
                _phone(n),
                ANCHOR + timedelta(days=rng.randrange(SPAN_DAYS), hours=2),
                department=dept,
                category=category,
                subtype=subtype,
            )
        )
    out.sort(key=lambda s: (s.received, s.key))
    return out


def load(ctx: Any) -> dict[str, str]:
    """Register (and close) the fixture's cases in one transaction, each action at its
    own time; returns case numbers by key."""
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.knowledge.mechanisms import link_of
    from banbucheng.services import cases as case_service

    numbers: dict[str, str] = {}
    mechanisms: dict[str, int] = {}
    specs = cases()
    closing: list[tuple[datetime, Spec, Any]] = []
    for spec in specs:
        received = spec.received.replace(tzinfo=BEIJING)  # Beijing wall time, as typed
        at = replace(ctx, now=received + timedelta(minutes=1))
        case = case_service.register(
            at,
            citizen_name=spec.name,
            phone=spec.phone,
            matter=spec.matter,
            channel="window",
            received_at=received,
            id_number=spec.id_number,
            department=spec.department,
            category=spec.category,
            subtype=spec.subtype,
        )
        numbers[spec.key] = case.number
        if spec.close_after_days is not None:
            closing.append((received + timedelta(days=spec.close_after_days), spec, case))
    for when, spec, case in sorted(closing, key=lambda c: (c[0], c[1].key)):
        at = replace(ctx, now=when)
        mechanism = spec.mechanism
        if mechanism and mechanism.startswith("@"):
            mechanism = str(mechanisms[mechanism[1:]])
        case_service.close(at, case, result=spec.result, at=when, mechanism=mechanism)
        found = link_of(ctx.session, case.id)
        if found is not None:
            mechanisms[spec.key] = found.mechanism_id
    return numbers


# ---------------------------------------------------------------- for the benchmark

_PLACES = ["城关镇", "新安乡", "东湖街道", "西山村", "南岭社区", "北园小区", "河口镇", "桥头村"]
_TAILS = [
    "，多次来回跑仍未解决",
    "，群众情绪较大",
    "（家属代为反映）",
    "，已超过承诺时限",
    "，网上办理也提交不了",
    "",
]


def bulk_matters(n: int, seed: int = 1) -> list[tuple[str, str, str, str | None]]:
    """n matters (matter, department, category, subtype) in the fixture's words, each
    with a place and an ending of its own, so no two stored texts are the same."""
    rng = random.Random(seed)
    pool = [
        (matter, dept, category, subtype)
        for dept, category, subtype, wordings in CLASSES.values()
        for matter in wordings
    ]
    out = []
    for _ in range(n):
        matter, dept, category, subtype = rng.choice(pool)
        place = rng.choice(_PLACES)
        out.append((f"{place}{matter}{rng.choice(_TAILS)}", dept, category, subtype))
    return out


AS_OF = datetime(2021, 7, 1, 9, 0)  # when the fixture is looked at: after every case


def build(url: str) -> tuple[Any, dict[str, str]]:
    """A store at `url` holding the fixture; returns (store, case numbers by key)."""
    from banbucheng.core.timeutil import BEIJING
    from banbucheng.store import Store

    store = Store(url)
    with store.context(actor="窗口甲", now=AS_OF.replace(tzinfo=BEIJING)) as ctx:
        numbers = load(ctx)
    return store, numbers
