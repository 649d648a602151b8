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
