"""The two real cases the window was built for (SPEC.md), as the tests type them.

霍女士: her clinic's business licence and medical practice licence carried different
names, so the supplier refused to deliver medicine; solved by the center's own
certificate, which became a mechanism. 李海清: his social security card had not been
checked since 2016, so his pension stopped; the card is issued by the province.
"""

from __future__ import annotations

HUO_CITIZEN = ["--name", "霍某某", "--phone", "13712341111"]
HUO_MATTER = "诊所营业执照与医疗机构执业许可证名称不一致，供货商拒绝供药"
HUO_DEPARTMENT = "市场监管窗口"
HUO_REGISTER = [
    "register",
    *HUO_CITIZEN,
    "--matter",
    HUO_MATTER,
    "--department",
    HUO_DEPARTMENT,
]
HUO_MECHANISM = "今后同类情况由窗口核实两证后直接出具证明"

LI_CITIZEN = ["--name", "李海清", "--phone", "13900001111"]
LI_MATTER = "社保卡自2016年起未年检，养老金停发四年"
