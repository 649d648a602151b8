"""Random but valid field values for synthetic vehicle licences (2008 paper edition, GA 37)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from ..licence.schema import VIN_ALPHABET, VIN_LETTERS

PROVINCES = {  # plate abbreviation: (province name, cities with their plate authority letters)
    "京": ("北京市", [("北京", "ABCEFGHJKLMNPQ")]),
    "沪": ("上海市", [("上海", "ABCDEFGHJKLMN")]),
    "粤": ("广东省", [("广州", "A"), ("深圳", "B"), ("珠海", "C"), ("汕头", "D"), ("佛山", "E"), ("东莞", "S")]),
    "苏": ("江苏省", [("南京", "A"), ("无锡", "B"), ("徐州", "C"), ("常州", "D"), ("苏州", "E")]),
    "浙": ("浙江省", [("杭州", "A"), ("宁波", "B"), ("温州", "C"), ("嘉兴", "F")]),
    "鄂": ("湖北省", [("武汉", "A"), ("黄石", "B"), ("十堰", "C"), ("宜昌", "E")]),
    "川": ("四川省", [("成都", "A"), ("绵阳", "B"), ("自贡", "C")]),
    "鲁": ("山东省", [("济南", "A"), ("青岛", "B"), ("淄博", "C"), ("烟台", "F")]),
    "豫": ("河南省", [("郑州", "A"), ("开封", "B"), ("洛阳", "C")]),
    "皖": ("安徽省", [("合肥", "A"), ("芜湖", "B"), ("蚌埠", "C")]),
    "湘": ("湖南省", [("长沙", "A"), ("株洲", "B"), ("湘潭", "C")]),
    "闽": ("福建省", [("福州", "A"), ("莆田", "B"), ("泉州", "C"), ("厦门", "D")]),
    "陕": ("陕西省", [("西安", "A"), ("铜川", "B"), ("宝鸡", "C")]),
    "晋": ("山西省", [("太原", "A"), ("大同", "B"), ("阳泉", "C")]),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢穆"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红飞鹏辉玲燕晨宇浩然思雨欣怡子涵博文俊峰高寒"
COMPANY_PREFIX = ["恒通", "华运", "顺达", "远航", "鑫源", "金桥", "宏图", "安泰", "新锐", "瑞丰"]
COMPANY_KIND = ["汽车租赁有限公司", "物流有限公司", "运输有限公司", "出租汽车有限公司", "商贸有限公司"]
DISTRICTS = ["东城区", "西湖区", "朝阳区", "高新区", "江北区", "南山区", "天河区", "鼓楼区", "金水区", "雁塔区"]
ESTATES = ["阳光花园", "锦绣华庭", "翠湖苑", "金色家园", "滨江小区", "幸福里"]
STREETS = ["人民路", "解放大道", "建设路", "北大街", "中山路", "财苑巷", "长江路", "和平街", "新华路", "光明巷"]
CAR_MODELS = [
    ("别克牌", "SGM7247ATA"), ("大众汽车牌", "SVW71617BM"), ("丰田牌", "TV7250GLX"), ("本田牌", "HG7154AAC5"),
    ("日产牌", "DFL7200VBL2"), ("比亚迪牌", "BYD7152WT5"), ("吉利牌", "MR7153A01"), ("长安牌", "SC7164ABA5"),
    ("奥迪牌", "FV7203BBCBG"), ("宝马牌", "BMW7201AX"), ("奔驰牌", "BJ7204GEL"), ("哈弗牌", "CC6460RM21"),
]  # fmt: skip
TRUCK_MODELS = [("解放牌", "CA5250XXYP62K1L5"), ("东风牌", "DFH1180EX8"), ("重汽牌", "ZZ4257N3247E1")]
CAR_TYPES = ["小型轿车", "小型普通客车", "小型越野客车", "中型普通客车"]
TRUCK_TYPES = ["重型厢式货车", "轻型普通货车", "重型半挂牵引车"]
CAR_USES = ["非营运", "非营运", "非营运", "租赁", "出租客运", "营运"]
TRUCK_USES = ["货运", "营运", "非营运"]
WMIS = ["LFV", "LSV", "LGB", "LVS", "LBE", "LHG", "LSG", "LDC", "LGX", "LZW", "LFG", "LVG"]
VIN_CHARS = VIN_ALPHABET
VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip(VIN_LETTERS,
              [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9], strict=True))}  # fmt: skip
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
REMARKS = ["", "", "", "", "非营运", "此车不得从事营运", "此车已装GPS", "GPS已安装"]


def vin_check_digit(vin: str) -> str:
    """The GB 16735 / ISO 3779 check digit for a 17-character VIN (position 9 ignored)."""
    total = sum(VIN_VALUES[ch] * w for ch, w in zip(vin, VIN_WEIGHTS, strict=True))
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def year_code(year: int) -> str:
    return YEAR_CODES[(year - 1980) % 30]


def make_vin(rng: random.Random, model_year: int) -> str:
    body = rng.choice(WMIS) + "".join(rng.choice(VIN_CHARS) for _ in range(5))
    tail = year_code(model_year) + rng.choice(VIN_CHARS) + "".join(rng.choice("0123456789") for _ in range(6))
    draft = body + "0" + tail
    return body + vin_check_digit(draft) + tail


def make_plate(rng: random.Random, abbreviation: str, letter: str, new_energy: bool) -> str:
    if new_energy:
        return (
            abbreviation
            + letter
            + rng.choice("DF")
            + rng.choice(PLATE_CHARS + "0123456789")
            + "".join(rng.choice("0123456789") for _ in range(4))
        )
    letters = rng.randint(0, 2)
    chars = [rng.choice(PLATE_CHARS.replace("Q", "")) for _ in range(letters)]
    chars += [rng.choice("0123456789") for _ in range(5 - letters)]
    rng.shuffle(chars)
    return abbreviation + letter + "".join(chars)


@dataclass(frozen=True)
class LicenceValues:
    """Ground truth of one synthetic licence, in the API's field names and formats."""

    front: dict[str, str]
    back: dict[str, str]
    seal_rows: tuple[str, ...]


def _mass(kg: int | None) -> str:
    return "--" if kg is None else f"{kg}kg"


def random_licence(rng: random.Random) -> LicenceValues:
    """One vehicle's licence values; all cross-field rules hold (VIN check digit, dates, masses)."""
    abbreviation = rng.choice(list(PROVINCES))
    province, cities = PROVINCES[abbreviation]
    city, letters = rng.choice(cities)
    truck = rng.random() < 0.2
    new_energy = not truck and rng.random() < 0.15
    register = date(2006, 1, 1) + timedelta(days=rng.randrange(0, 365 * 18))
    issue = register + timedelta(days=rng.choice([0, 0, 1, 1, 2, rng.randrange(3, 900)]))
    brand, code = rng.choice(TRUCK_MODELS if truck else CAR_MODELS)
    if rng.random() < 0.2:
        owner = rng.choice(list(PROVINCES.values()))[0][:2] + rng.choice(COMPANY_PREFIX) + rng.choice(COMPANY_KIND)
    else:
        owner = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
    address = f"{province}{city}市{rng.choice(DISTRICTS)}{rng.choice(STREETS)}{rng.randint(1, 299)}号"
    roll = rng.random()
    if roll < 0.3:
        address = f"{province}{city}市{rng.choice(STREETS)}"
    elif roll < 0.5:  # a long address that the printer wraps onto a second line
        address += f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(101, 2899)}室"
    authority = f"{province}{city}市公安局交通警察支队"
    third = (len(authority) + 2) // 3
    seal_rows = tuple(authority[i : i + third] for i in range(0, len(authority), third))
    vehicle_type = rng.choice(TRUCK_TYPES if truck else CAR_TYPES)
    if truck:
        unladen = rng.randrange(5000, 12000, 10)
        load = rng.randrange(5000, 18000, 10)
        gross = unladen + load + 65 * 3
        passengers = rng.choice([2, 3])
        traction = rng.randrange(30000, 40000, 10) if "牵引" in vehicle_type else None
        dimension = f"{rng.randrange(6000, 12000, 5)}×{rng.randrange(2300, 2550, 5)}×{rng.randrange(2800, 3990, 5)}mm"
    else:
        unladen = rng.randrange(1000, 2300, 5)
        gross = unladen + rng.randrange(350, 700, 5)
        load = None
        traction = None
        passengers = 7 if "越野" in vehicle_type and rng.random() < 0.3 else 5
        if "中型" in vehicle_type:
            passengers = rng.randrange(10, 20)
        dimension = f"{rng.randrange(3800, 5200, 1)}×{rng.randrange(1600, 1950, 1)}×{rng.randrange(1400, 1950, 1)}mm"
    expiry = date(min(issue.year + rng.randint(1, 6), 2030), rng.randint(1, 12), 1)
    plate = make_plate(rng, abbreviation, rng.choice(letters), new_energy)
    station = f"{abbreviation}{letters[0]}({rng.randint(1, 40):02d})"
    front = {
        "number": plate,
        "vehicle_type": vehicle_type,
        "name": owner,
        "address": address,
        "use_character": rng.choice(TRUCK_USES if truck else CAR_USES),
        "model": brand + code,
        "vin": make_vin(rng, register.year - rng.choice([0, 0, 0, 1])),
        "engine_no": "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(7, 10))),
        "register_date": register.isoformat(),
        "issue_date": issue.isoformat(),
        "issuing_authority": authority,
    }
    back = {
        "number": plate,
        "file_no": "".join(rng.choice("0123456789") for _ in range(12)),
        "approved_passengers": f"{passengers}人",
        "gross_mass": _mass(gross),
        "unladen_mass": _mass(unladen),
        "approved_load": _mass(load),
        "dimension": dimension,
        "traction_mass": _mass(traction),
        "remarks": rng.choice(REMARKS),
        "inspection_record": f"检验有效期至{expiry.year}年{expiry.month:02d}月{station}",
        "code_number": "".join(rng.choice("0123456789") for _ in range(13)),
    }
    return LicenceValues(front, back, seal_rows)
