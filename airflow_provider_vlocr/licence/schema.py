"""The one place that names the API's fields, sides and options, and the licence's alphabets.

Models, records, the layout parser, the emulator and the operator all read these: a new API option or response
field is one edit here plus its use.
"""

from __future__ import annotations

import re
from typing import Literal

# -- request -------------------------------------------------------------------------------------------------
Side = Literal["front", "back", "double_side"]
SIDES: tuple[str, ...] = ("front", "back", "double_side")
# Boolean switches of the request body, in the SDK's key order (after ``side``).
BOOLEAN_OPTIONS: tuple[str, ...] = (
    "return_issuing_authority",
    "return_text_location",
    "recognize_electronic_license",
    "alarm",
)
BODY_OPTIONS: tuple[str, ...] = ("side", *BOOLEAN_OPTIONS)
# Who fetches URL items: the worker (``download``), Huawei (``remote``), or the worker for private hosts only.
URL_MODES: tuple[str, ...] = ("remote", "download", "auto")
ON_ERROR_MODES: tuple[str, ...] = ("fail", "continue")
REDACTION_MODES: tuple[str, ...] = ("none", "mask", "hash")

# Local engines list a field as doubtful under this confidence (for human review: catch most wrong fields).
# Chosen on the accuracy benchmark's tuning seeds (benchmarks/accuracy.py), never on the hold-out seed.
DOUBTFUL_BELOW = 0.8
# The hybrid engine sends an image to the cloud when a field is under this (connection extra ``hybrid_threshold``):
# lower than DOUBTFUL_BELOW, as a call is paid per image, not per field. Chosen on benchmarks/hybrid.py's tuning seeds.
HYBRID_THRESHOLD = 0.75

# -- response ------------------------------------------------------------------------------------------------
FRONT_FIELDS: tuple[str, ...] = (
    "number",
    "vehicle_type",
    "name",
    "address",
    "use_character",
    "model",
    "vin",
    "engine_no",
    "register_date",
    "issue_date",
    "issuing_authority",
)
BACK_FIELDS: tuple[str, ...] = (
    "number",
    "file_no",
    "approved_passengers",
    "gross_mass",
    "unladen_mass",
    "approved_load",
    "dimension",
    "traction_mass",
    "remarks",
    "inspection_record",
    "code_number",
    "energy_type",
)
# What every paper page prints, whatever the vehicle: a page read without one of these is not a valid record (an
# error-level finding names each one missing). Masses, passengers and remarks may be "--" or blank on real cards.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "front": ("number", "vehicle_type", "name", "address", "use_character", "model", "vin", "engine_no",
              "register_date", "issue_date"),
    "back": ("number", "file_no", "dimension"),
}  # fmt: skip
ELECTRONIC_FIELDS: tuple[str, ...] = ("color", "mandatory_scrapping_date", "status")
MASS_FIELDS: tuple[str, ...] = ("gross_mass", "unladen_mass", "approved_load", "traction_mass")

# -- licence alphabets ---------------------------------------------------------------------------------------
PROVINCE_ABBREVIATIONS = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
PROVINCE_NAMES: tuple[str, ...] = (  # official names, in the order of the abbreviations above
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
    "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省",
    "宁夏回族自治区", "新疆维吾尔自治区",
)  # fmt: skip
ABBREVIATION_OF_PROVINCE: dict[str, str] = dict(zip(PROVINCE_NAMES, PROVINCE_ABBREVIATIONS, strict=True))
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # ISO 3779: no I, O, Q
VIN_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
PLATE_SEPARATORS = re.compile(r"[\s·.\-_•・]")  # 粤B·12345, 粤B 12345, 粤B-12345 all mean 粤B12345


# -- known values (GA 802 vehicle types, GA 24 use characters; unverified against the standards' full tables) ------
# A value outside these lowers a local reading's confidence; it is never an error (vendors print variants).
def _words(text: str) -> list[str]:
    return text.split()


_BODY_SIZES = ("大型", "中型", "小型", "微型")
_BODIES = _words("普通客车 双层客车 卧铺客车 铰接客车 越野客车 轿车 专用客车 专用校车 面包车")
_TRUCK_SIZES = ("重型", "中型", "轻型", "微型")
_TRUCKS = _words(
    "普通货车 厢式货车 封闭货车 罐式货车 平板货车 集装厢车 自卸货车 特殊结构货车 仓栅式货车 车辆运输车 "
    "厢式自卸货车 罐式自卸货车 平板自卸货车 集装厢自卸货车 特殊结构自卸货车 仓栅式自卸货车 专项作业车 "
    "半挂牵引车 全挂牵引车"
)
_TRAILERS = _words(
    "普通全挂车 厢式全挂车 罐式全挂车 平板全挂车 集装箱全挂车 自卸全挂车 仓栅式全挂车 旅居全挂车 专项作业全挂车 "
    "普通半挂车 厢式半挂车 罐式半挂车 平板半挂车 集装箱半挂车 自卸半挂车 特殊结构半挂车 仓栅式半挂车 旅居半挂车 "
    "专项作业半挂车 低平板半挂车 车辆运输半挂车"
)
_OTHER_TYPES = _words(
    "三轮汽车 低速货车 低速厢式货车 低速罐式货车 低速自卸货车 低速仓栅式货车 普通二轮摩托车 普通三轮摩托车 "
    "普通正三轮摩托车 普通侧三轮摩托车 轻便二轮摩托车 轻便三轮摩托车 轮式装载机械 轮式挖掘机械 轮式平地机械 "
    "无轨电车 有轨电车"
)
VEHICLE_TYPES: frozenset[str] = frozenset(
    [size + body for size in _BODY_SIZES for body in _BODIES]
    + [size + truck for size in _TRUCK_SIZES for truck in _TRUCKS]
    + [size + trailer for size in ("重型", "中型", "轻型") for trailer in _TRAILERS]
    + _OTHER_TYPES
)
USE_CHARACTERS: tuple[str, ...] = tuple(
    _words(
        "非营运 营运 公路客运 公交客运 出租客运 旅游客运 预约出租客运 货运 危化品运输 租赁 警用 消防 救护 工程救险 "
        "营转非 出租转非 预约出租转非 教练 幼儿校车 小学生校车 初中生校车 中小学生校车 其他校车 设备 专业化"
    )
)
