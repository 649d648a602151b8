"""The layout parser on hand-made OCR boxes (no OCR engine involved)."""

from __future__ import annotations

import pytest

from airflow_provider_vlocr.core.engines.layout import complete_seal, parse_boxes
from airflow_provider_vlocr.core.engines.layout.cleaners import (
    clean_date,
    clean_dimension,
    clean_inspection,
    clean_mass,
    clean_passengers,
    clean_plate,
    clean_vin,
)


def box(
    x: float, y: float, text: str, w: float | None = None, h: float = 30
) -> tuple[list[tuple[float, float]], str, float]:
    width = w if w is not None else 30 * len(text)
    return [(x, y), (x + width, y), (x + width, y + h), (x, y + h)], text, 0.99


FRONT = [
    box(300, 20, "中华人民共和国机动车行驶证"),
    box(40, 100, "号牌号码", 120),
    box(200, 98, "京A12345", 200),
    box(560, 100, "车辆类型", 120),
    box(700, 100, "小型轿車", 140),
    box(40, 130, "Plate No.", 100, 18),
    box(40, 200, "所有人", 100),
    box(200, 200, "张三", 60),
    box(40, 300, "住址", 60),
    box(200, 300, "北京市东城区人民路1号", 330),
    box(40, 400, "使用性质", 120),
    box(200, 400, "非营运", 90),
    box(400, 400, "品牌型号", 120),
    box(560, 400, "别克牌SGM7247ATA", 300),
    box(40, 480, "北京市公安局", 180),
    box(40, 530, "公安交通管理", 180),
    box(40, 580, "局车辆管理所", 180),
    box(300, 480, "车辆识别代号", 170),
    box(500, 480, "LFGGF53W0WH228343", 380),
    box(300, 530, "发动机号码", 150),
    box(500, 530, "47CB521VL", 200),
    box(300, 580, "注册日期", 120),
    box(440, 580, "2013-06-17", 160),
    box(640, 580, "发证日期", 120),
    box(780, 580, "2013.06.18", 160),
]
BACK = [
    box(40, 40, "号牌号码", 120),
    box(200, 40, "京A12345", 200),
    box(500, 40, "档案编号", 120),
    box(640, 40, "110000123456", 240),
    box(40, 100, "核定载人数5人", 200),
    box(500, 100, "总质量", 90),
    box(640, 100, "2170kg", 150),
    box(40, 160, "整备质量", 120),
    box(200, 160, "1750kg", 150),
    box(500, 160, "核定载质量", 150),
    box(40, 220, "外廓尺寸", 120),
    box(200, 220, "5000x1858×1493mm", 300),
    box(500, 220, "准牵引总质量", 180),
    box(40, 280, "备", 30),
    box(100, 280, "注", 30),
    box(40, 360, "检验记录", 120),
    box(200, 360, "检验有效期至2015年6月京A(16)", 420),
    box(300, 440, "*8644658019963*", 300),
]


def test_front_page() -> None:
    reading = parse_boxes(FRONT)
    assert reading.back is None and reading.front is not None
    fields = reading.front.fields
    assert fields == {
        "number": "京A12345",
        "vehicle_type": "小型轿车",
        "name": "张三",
        "address": "北京市东城区人民路1号",
        "use_character": "非营运",
        "model": "别克牌SGM7247ATA",
        "vin": "LFGGF53W0WH228343",
        "engine_no": "47CB521VL",
        "register_date": "2013-06-17",
        "issue_date": "2013-06-18",
        "issuing_authority": "北京市公安局公安交通管理局车辆管理所",
    }
    assert reading.front.text_location["vin"] == [[500, 480], [880, 480], [880, 510], [500, 510]]


def test_back_page_with_label_and_value_in_one_box() -> None:
    reading = parse_boxes(BACK)
    assert reading.front is None and reading.back is not None
    assert reading.back.fields == {
        "number": "京A12345",
        "file_no": "110000123456",
        "approved_passengers": "5人",
        "gross_mass": "2170kg",
        "unladen_mass": "1750kg",
        "approved_load": "--",
        "dimension": "5000×1858×1493mm",
        "traction_mass": "--",
        "remarks": "",
        "inspection_record": "检验有效期至2015年06月京A(16)",
        "code_number": "8644658019963",
    }


def test_two_pages_side_by_side_are_split() -> None:
    shifted = [([(x + 1000, y) for x, y in quad], text, score) for quad, text, score in BACK]
    reading = parse_boxes(FRONT + shifted)
    assert reading.front is not None and reading.back is not None
    assert reading.front.fields["issue_date"] == "2013-06-18"
    assert reading.back.fields["file_no"] == "110000123456"


def test_rotated_boxes_are_deskewed() -> None:
    import math

    angle = math.radians(25)

    def turn(p: tuple[float, float]) -> tuple[float, float]:
        return p[0] * math.cos(angle) - p[1] * math.sin(angle), p[0] * math.sin(angle) + p[1] * math.cos(angle)

    rotated = [([turn(p) for p in quad], text, score) for quad, text, score in FRONT]
    reading = parse_boxes(rotated)
    assert reading.front is not None and reading.front.fields["vin"] == "LFGGF53W0WH228343"
    assert reading.front.fields["name"] == "张三"


@pytest.mark.parametrize(
    ("fn", "raw", "clean"),
    [
        (clean_plate, "鄂E·3887k", "鄂E3887K"),
        (clean_plate, "粤BD1234O", "粤BD12340"),
        (clean_plate, "none", ""),
        (clean_vin, "LFGGF53WOWH228343", "LFGGF53W0WH228343"),
        (clean_vin, "lfg gf53w0wh 228343", "LFGGF53W0WH228343"),
        (clean_date, "2013年06月17日", "2013-06-17"),
        (clean_date, "2O13-O6-17", "2013-06-17"),
        (clean_date, "13-6", ""),
        (clean_mass, "2170 KG", "2170kg"),
        (clean_mass, "", "--"),
        (clean_mass, "—", "--"),
        (clean_passengers, "5 人", "5人"),
        (clean_passengers, "1I人", "11人"),
        (clean_dimension, "5000*1858*1493", "5000×1858×1493mm"),
        (clean_dimension, "4765x1795", ""),
        (clean_inspection, "检验有效期至2015 年06 月粤B(16)", "检验有效期至2015年06月粤B(16)"),
    ],
)
def test_cleaners(fn: object, raw: str, clean: str) -> None:
    assert fn(raw) == clean  # type: ignore[operator]


def test_seal_completion_only_when_unambiguous() -> None:
    assert complete_seal("东省深圳市公安局交通警察支队", "鄂E3887K检验有效期至2015年06月粤B(16)").startswith("广东省")
    assert complete_seal("东省深圳市公安局交通警察支队", "鄂E3887K") == "东省深圳市公安局交通警察支队"
    assert complete_seal("苏省南京市公安局交通警察支队", "") == "江苏省南京市公安局交通警察支队"
    assert complete_seal("广东省深圳市公安局交通警察支队", "") == "广东省深圳市公安局交通警察支队"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("JIIAC18D6", "川AC18D6"),
        ("IIIA12345", "川A12345"),
        ("京A12345", "京A12345"),
        ("J川IAC18D6", "川AC18D6"),
        ("川1AC18D6", "川AC18D6"),
        ("京AF12345", "京AF12345"),
        ("皖C114F2", "皖C114F2"),
    ],
)
def test_plate_repairs(raw: str, clean: str) -> None:
    assert clean_plate(raw) == clean


def test_inspection_record_drops_the_stamp_border() -> None:
    assert clean_inspection("检验有效期至2023年03月京A(16)}") == "检验有效期至2023年03月京A(16)"


def test_wrapped_address_continues_on_the_next_line() -> None:
    wrapped = [b for b in FRONT if b[1] != "北京市东城区人民路1号"] + [
        box(200, 300, "北京市东城区人民路1号阳光", 390),
        box(200, 340, "花园3栋2单元101室", 280),
    ]
    reading = parse_boxes(wrapped)
    assert reading.front is not None
    assert reading.front.fields["address"] == "北京市东城区人民路1号阳光花园3栋2单元101室"
    assert reading.front.fields["use_character"] == "非营运"
    assert reading.front.text_location["address"] == [[200, 300], [590, 300], [590, 370], [200, 370]]


def test_value_of_an_unread_label_is_found_by_its_row() -> None:
    without_model_label = [b for b in FRONT if b[1] != "品牌型号"]
    reading = parse_boxes(without_model_label)
    assert reading.front is not None
    assert reading.front.fields["use_character"] == "非营运"  # stops at the wide gap
    assert reading.front.fields["model"] == "别克牌SGM7247ATA"  # found right of the use-character value


# -- real-card classes: English sub-labels, letter-spaced labels, misregistered values, row partners ----------
def _replace(boxes: list, old: str, *new: tuple) -> list:  # type: ignore[type-arg]
    at = [b[1] for b in boxes].index(old)
    return boxes[:at] + list(new) + boxes[at + 1 :]


def test_english_sub_labels_are_never_part_of_a_value() -> None:
    back = _replace(
        [b for b in BACK if b[1] != "注"], "备", box(40, 280, "备注", 60), box(200, 280, "此车已装GPSRemarks", 400)
    )
    back += [box(40, 310, "Remarks", 80, 18), box(40, 250, "Overall Dimension", 140, 18)]
    reading = parse_boxes(back)
    assert reading.back is not None
    assert reading.back.fields["remarks"] == "此车已装GPS"
    front = _replace(FRONT, "北京市东城区人民路1号", box(200, 300, "Addtes北京市东城区人民路1号", 400))
    reading = parse_boxes(front)
    assert reading.front is not None and reading.front.fields["address"] == "北京市东城区人民路1号"


def test_letter_spaced_label_leaves_no_residue() -> None:
    front = _replace(FRONT, "所有人", box(40, 200, "所 有", 70))
    front = _replace(front, "张三", box(112, 200, "人王京", 90))
    front = _replace(front, "住址", box(40, 300, "住", 30))
    front = _replace(front, "北京市东城区人民路1号", box(100, 300, "址北京市石景山区", 240))
    reading = parse_boxes(front)
    assert reading.front is not None
    assert reading.front.fields["name"] == "王京"
    assert reading.front.fields["address"] == "北京市石景山区"


def _shift_values(boxes: list, dx: float, dy: float) -> list:  # type: ignore[type-arg]
    """Move every value box (not labels, title, seal or English sub-labels) by (dx, dy): a misregistered print."""
    keep = set(
        "中华人民共和国机动车行驶证 号牌号码 车辆类型 所有人 住址 使用性质 品牌型号 车辆识别代号 发动机号码 注册日期 "
        "发证日期 Plate_No. 北京市公安局 公安交通管理 局车辆管理所".replace("_", " ").split(" ")
    )
    out = []
    for quad, text, score in boxes:
        if text not in keep:
            quad = [(x + dx, y + dy) for x, y in quad]
        out.append((quad, text, score))
    return out


@pytest.mark.parametrize(("dx", "dy"), [(0, 40), (-40, 45), (45, 30), (30, -20)])
def test_values_printed_off_their_row_are_assigned_by_the_label_grid(dx: float, dy: float) -> None:
    reading = parse_boxes(_shift_values(FRONT, dx, dy))
    assert reading.front is not None
    fields = reading.front.fields
    assert fields["number"] == "京A12345" and fields["vehicle_type"] == "小型轿车"
    assert fields["name"] == "张三" and fields["address"] == "北京市东城区人民路1号"
    assert fields["use_character"] == "非营运" and fields["model"] == "别克牌SGM7247ATA"
    assert fields["vin"] == "LFGGF53W0WH228343" and fields["engine_no"] == "47CB521VL"
    assert fields["register_date"] == "2013-06-17" and fields["issue_date"] == "2013-06-18"


def test_row_partner_read_into_one_box_with_its_label() -> None:
    front = [b for b in FRONT if b[1] not in ("2013-06-17", "发证日期", "2013.06.18")]
    front.append(box(440, 580, "2013-06-17发证日期2013-06-18", 500))
    reading = parse_boxes(front)
    assert reading.front is not None
    assert reading.front.fields["register_date"] == "2013-06-17"
    assert reading.front.fields["issue_date"] == "2013-06-18"


def test_two_dates_in_one_box_without_the_partner_label() -> None:
    front = [b for b in FRONT if b[1] not in ("2013-06-17", "发证日期", "2013.06.18")]
    front.append(box(440, 580, "2013-06-17 2013-06-18", 400))
    reading = parse_boxes(front)
    assert reading.front is not None
    assert reading.front.fields["issue_date"] == "2013-06-18"


def test_label_read_in_pieces_is_joined() -> None:
    back = _replace(BACK, "号牌号码", box(40, 40, "号", 30), box(66, 40, "号码", 60))
    reading = parse_boxes(back)
    assert reading.back is not None and reading.back.fields["number"] == "京A12345"
    assert reading.back.confidence["number"] > 0.9


def test_a_value_far_from_its_row_is_kept_with_low_confidence() -> None:
    front = _replace(FRONT, "47CB521VL", box(500, 600, "47CB521VL", 200))  # 70 px low, under the next row
    front = [b for b in front if b[1] not in ("注册日期", "2013-06-17", "发证日期", "2013.06.18")]
    reading = parse_boxes(front)
    assert reading.front is not None
    assert reading.front.fields["engine_no"] == "47CB521VL"
    assert reading.front.confidence["engine_no"] < 0.8
    assert reading.front.confidence["vin"] > 0.9


# -- real back pages: needle-printed units, the barcode's spaced digits, the dimension ------------------------
@pytest.mark.parametrize(
    ("raw", "clean", "fits"),
    [
        ("1499k9", "1499kg", True),  # a needle-printed "kg" reads "k9": the unit never becomes a digit
        ("1435 kg", "1435kg", True),
        ("2170kgGross Mass", "2170kg", True),
        ("14999", "14999kg", False),  # no unit: is the last 9 a digit or the unit's g? Doubtful, not guessed
        ("2I70kg", "2170kg", False),  # a letter in the digits: cleaned, but doubtful
        ("--", "--", True),
    ],
)
def test_masses_keep_the_unit_out_of_the_digits(raw: str, clean: str, fits: bool) -> None:
    from airflow_provider_vlocr.core.engines.layout.cleaners import fits_grammar

    assert clean_mass(raw) == clean and fits_grammar("gross_mass", raw) is fits
    reading = parse_boxes(_replace(BACK, "2170kg", box(640, 100, raw, 150)))
    assert reading.back is not None and reading.back.fields["gross_mass"] == clean
    assert (reading.back.confidence["gross_mass"] >= 0.8) is fits


def test_code_number_is_the_barcode_line_read_in_pieces_not_the_file_number() -> None:
    pieces = [box(300, 440, "*8 6 4 4 6", 130), box(440, 441, "5 8 0 1", 100), box(550, 440, "9 9 6 3*", 100)]
    back = [b for b in BACK if b[1] != "*8644658019963*"] + pieces
    reading = parse_boxes(back)
    assert reading.back is not None
    assert reading.back.fields["code_number"] == "8644658019963"
    assert reading.back.fields["file_no"] == "110000123456"
    without = parse_boxes([b for b in BACK if b[1] != "*8644658019963*"])
    assert without.back is not None and without.back.fields.get("code_number", "") != "110000123456"


def test_dimension_is_found_by_its_shape_and_the_field_that_swallowed_it_is_doubtful() -> None:
    back = [b for b in BACK if b[1] not in ("外廓尺寸", "5000x1858×1493mm", "备", "注")]
    back += [box(40, 280, "备注", 60), box(200, 280, "外尺5000X1858X1493mm表量", 420)]
    reading = parse_boxes(back)
    assert reading.back is not None
    assert reading.back.fields["dimension"] == "5000×1858×1493mm"
    assert reading.back.confidence["dimension"] >= 0.8
    assert reading.back.confidence["remarks"] < 0.8


def test_a_label_residue_kept_in_a_value_is_doubtful_not_stripped() -> None:
    reading = parse_boxes(_replace(FRONT, "张三", box(200, 200, "人张三", 90)))
    assert reading.front is not None
    assert reading.front.fields["name"] == "人张三" and reading.front.confidence["name"] < 0.8
    clean = parse_boxes(FRONT)
    assert clean.front is not None and clean.front.confidence["name"] > 0.9


def test_a_value_read_in_its_labels_box_is_scored_by_its_own_characters() -> None:
    """A weak character of the label (寸 at 0.5) says nothing of the value after it; a weak digit does."""
    label, value = "外廓尺寸", "5000x1858×1493mm"
    quad = box(40, 220, label + value, 420)[0]
    weak_label = (0.99, 0.99, 0.98, 0.5) + (0.99,) * len(value)
    weak_digit = (0.99,) * len(label) + (0.99, 0.99, 0.99, 0.4) + (0.99,) * (len(value) - 4)
    for chars, sure in ((weak_label, True), (weak_digit, False)):
        back = [b for b in BACK if b[1] not in (label, "5000x1858×1493mm")] + [(quad, label + value, 0.4, chars)]
        reading = parse_boxes(back)
        assert reading.back is not None and reading.back.fields["dimension"] == "5000×1858×1493mm"
        assert (reading.back.confidence["dimension"] >= 0.8) is sure, reading.back.confidence["dimension"]
