"""Reading RAISE lists: published column variants, malformed rows by line number, unsafe names."""

from __future__ import annotations

import pytest

from pipeline.fetch.raise_csv import check_url, read_raise_csv, safe_name

URL = "http://loki.disi.unitn.it/RAISE/NEF/r000da54ft.NEF"


def _write(tmp_path, text, name="list.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_the_published_layout(tmp_path):
    text = (
        "\ufeffFile,TIFF,NEF,Date,Location,Device,Image Size,Keywords\n"
        f'r000da54ft,http://x/TIFF/r000da54ft.TIF,{URL},2008:05:01,"46.07, 11.12",Nikon D90,4288x2848,"a;b"\n'
    )
    entries, problems = read_raise_csv(_write(tmp_path, text))
    assert problems == []
    [entry] = entries
    assert (entry.name, entry.url, entry.camera, entry.line) == ("r000da54ft.NEF", URL, "Nikon D90", 2)


@pytest.mark.parametrize(
    "header, row",
    [
        ("Filename;Camera;RAW", f"r000da54ft;NIKON D90;{URL}"),  # semicolons, other spellings
        ("id\tcamera model\tNEF URL", f"r000da54ft\tNIKON D90\t{URL}"),  # tabs, spaces in headers
        (" FILE , nef , DEVICE ", f"r000da54ft.NEF,{URL},NIKON D90"),  # case, padding, id with extension
        ("url,Device", f"{URL},NIKON D90"),  # no id column: the name comes from the address
    ],
)
def test_tolerates_column_variants(tmp_path, header, row):
    entries, problems = read_raise_csv(_write(tmp_path, f"{header}\n{row}\n"))
    assert problems == [] and [e.name for e in entries] == ["r000da54ft.NEF"]
    assert entries[0].url == URL and entries[0].camera.upper() == "NIKON D90"


def test_semicolons_inside_fields_do_not_change_the_separator(tmp_path):
    rows = "".join(
        f"r{i},{URL.replace('r000da54ft', f'r{i}')},Nikon D90,indoor;people;night\n" for i in range(5)
    )
    entries, problems = read_raise_csv(_write(tmp_path, "File,NEF,Device,Keywords\n" + rows))
    assert problems == [] and [e.name for e in entries] == [f"r{i}.NEF" for i in range(5)]


def test_prefers_the_nef_address_over_other_columns(tmp_path):
    text = f"File,URL,NEF\nr1,http://x/r1.TIF,{URL}\n"
    [entry], _ = read_raise_csv(_write(tmp_path, text))
    assert entry.url == URL and entry.name == "r1.NEF"


def test_malformed_rows_are_reported_with_their_line_and_skipped(tmp_path):
    text = (
        "File,NEF,Device\n"
        f"r1,{URL.replace('r000da54ft', 'r1')},Nikon D90\n"
        "r2\n"  # too short: no address
        "\n"  # blank: ignored, still counted as a line
        "r3,not-an-address,Nikon D40\n"
        f"r1,{URL},Nikon D90\n"  # duplicate name
        f"r5,{URL.replace('r000da54ft', 'r5')},Nikon D7000\n"
    )
    entries, problems = read_raise_csv(_write(tmp_path, text))
    assert [e.name for e in entries] == ["r1.NEF", "r5.NEF"] and [e.line for e in entries] == [2, 7]
    assert [p.line for p in problems] == [3, 5, 6]
    assert "missing download address" in problems[0].reason
    assert "only http://" in problems[1].reason and "duplicate" in problems[2].reason
    assert str(problems[0]).startswith("line 3: ")


def test_a_list_without_an_address_column_is_a_clear_error(tmp_path):
    path = _write(tmp_path, "File,TIFF\nr1,http://x/r1.TIF\n")
    with pytest.raises(ValueError, match="no download-address column") as err:
        read_raise_csv(path)
    assert str(path) in str(err.value) and "loki.disi.unitn.it/RAISE" in str(err.value)


def test_an_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="empty file"):
        read_raise_csv(_write(tmp_path, ""))


@pytest.mark.parametrize("name", ["r000da54ft.NEF", "a", "R_1-2.nef", "x" * 200])
def test_safe_names_pass(name):
    assert safe_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "../x.NEF", "a/../../x", "/etc/passwd", "sub/x.NEF", "..\\x", "C:x.NEF", ".hidden", "a..b",
     "x\x00.NEF", "x\n", "é.NEF", "x" * 201],
)  # fmt: skip
def test_unsafe_names_are_refused(name):
    with pytest.raises(ValueError, match="unsafe file name"):
        safe_name(name)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://h/x.NEF", "javascript:alert(1)", "//h/x", "http:///x"]
)
def test_only_http_and_https_urls(url):
    with pytest.raises(ValueError, match="only http"):
        check_url(url)
    assert check_url("HTTPS://h/x.NEF") == "HTTPS://h/x.NEF"
