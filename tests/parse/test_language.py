"""detect_language: ISO 639-1 code for text whose feed declares no language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse.language import NEWS_LANGUAGES, detect_language

# (expected, text): news headlines and leads as a feed's title + summary would give them.
CASES: list[tuple[str, str]] = [
    (
        "en",
        "The government announced on Tuesday that it would increase funding for public hospitals "
        "after months of protests by nurses and doctors.",
    ),
    ("en", "Central bank raises interest rates for the third time this year"),
    (
        "tr",
        "Cumhurbaşkanı, Ankara'da düzenlenen törende yaptığı konuşmada yeni ekonomik reform "
        "paketinin önümüzdeki ay Meclis'e sunulacağını açıkladı.",
    ),
    ("tr", "Merkez Bankası faiz oranlarını yüzde 50'de sabit tuttu"),
    ("tr", "Erdoğan, Putin ile Soçi'de görüştü"),
    # Turkish typed without diacritics, as some sites and most social posts do.
    (
        "tr",
        "Cumhurbaskani, Ankara'da duzenlenen torende yaptigi konusmada yeni ekonomik reform "
        "paketinin onumuzdeki ay Meclis'e sunulacagini acikladi.",
    ),
    ("tr", "Istanbul'da etkili olan saganak yagis nedeniyle bircok ilcede su baskinlari yasandi."),
    ("tr", "Galatasaray Fenerbahce derbisinde 2-1 kazandi"),
    (
        "ar",
        "أعلنت الحكومة يوم الثلاثاء أنها ستزيد التمويل المخصص للمستشفيات العامة بعد أشهر من احتجاجات الممرضين والأطباء.",
    ),
    ("ar", "شركة Google تطلق خدمة جديدة في السعودية"),
    ("he", "הממשלה הודיעה ביום שלישי כי תגדיל את התקציב לבתי החולים הציבוריים לאחר חודשים של הפגנות."),
    ("he", "נתניהו נפגש עם ביידן בוושינגטון"),
    (
        "fa",
        "دولت روز سه‌شنبه اعلام کرد که پس از ماه‌ها اعتراض پرستاران و پزشکان، بودجه بیمارستان‌ها را افزایش خواهد داد.",
    ),
    ("ru", "Правительство объявило во вторник, что увеличит финансирование государственных больниц."),
    ("ru", "Центральный банк повысил процентную ставку в третий раз за год"),
    (
        "uk",
        "Уряд у вівторок оголосив, що збільшить фінансування державних лікарень після кількох місяців протестів.",
    ),
    ("de", "Die Regierung kündigte am Dienstag an, die Mittel für öffentliche Krankenhäuser zu erhöhen."),
    ("de", "Scholz trifft Macron in Berlin"),
    ("fr", "Le gouvernement a annoncé mardi qu'il augmenterait le financement des hôpitaux publics."),
    ("fr", "Grève à la SNCF : trafic perturbé lundi"),
    ("es", "El Gobierno anunció el martes que aumentará la financiación de los hospitales públicos."),
    ("es", "Sánchez y Lula firman un acuerdo comercial en Madrid"),
    ("it", "Il governo ha annunciato martedì che aumenterà i finanziamenti agli ospedali pubblici."),
    ("pt", "O governo anunciou na terça-feira que vai aumentar o financiamento dos hospitais públicos."),
    ("nl", "De regering maakte dinsdag bekend dat zij de financiering van openbare ziekenhuizen verhoogt."),
    ("pl", "Rząd ogłosił we wtorek, że zwiększy finansowanie szpitali publicznych po miesiącach protestów."),
    ("el", "Η κυβέρνηση ανακοίνωσε την Τρίτη ότι θα αυξήσει τη χρηματοδότηση των δημόσιων νοσοκομείων."),
    ("zh", "政府周二宣布，在护士和医生抗议数月之后，将增加对公立医院的拨款。"),
    ("zh", "习近平会见美国总统拜登"),  # ten Han characters are enough: each counts double
    (
        "ja",
        "政府は火曜日、看護師や医師による数か月にわたる抗議を受けて、公立病院への予算を増やすと発表した。",
    ),
    (
        "ko",
        "정부는 화요일 간호사와 의사들의 수개월에 걸친 시위 끝에 공립 병원에 대한 예산을 늘리겠다고 발표했다.",
    ),
]


@pytest.mark.parametrize(
    ("expected", "text"), CASES, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(CASES)]
)
def test_detects_language(expected: str, text: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "12345 67890",
        "2024-11-19 08:00",
        "€ 1.234,56 !!! ???",
        "OK",
        "Breaking",
        "Update",
        "COVID-19",
        "iPhone 16 Pro",  # CLD2 alone says Czech
        "https://example.com/news/2024/11/19/article?id=7",  # CLD2 alone says English
        "press@example.com www.example.org",
        "央行上调利率",  # six Han characters: too few
    ],
)
def test_too_little_text_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_language_outside_the_news_set_is_none() -> None:
    # CLD2 reliably says Latin here; no feed monitor wants `lang:la`, and on short noisy text such
    # answers are usually wrong, so anything outside NEWS_LANGUAGES is reported as unknown.
    assert (
        detect_language("Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae, aliam Aquitani")
        is None
    )


def test_characters_cld2_refuses_are_ignored() -> None:
    # Controls, a lone surrogate and noncharacters make CLD2 raise "invalid UTF-8".
    text = "Die Regierung\x00 kündigte\x1b am Dienstag \x85an, \udc80die Mittel \ufffe\U0010ffff zu erhöhen."
    assert detect_language(text) == "de"


def test_long_text_is_truncated_and_still_detected() -> None:
    text = " ".join(t for lang, t in CASES if lang == "tr") * 100
    assert len(text) > 20_000
    assert detect_language(text) == "tr"


def test_deterministic_within_and_across_processes() -> None:
    first = [detect_language(text) for _, text in CASES]
    assert [detect_language(text) for _, text in CASES] == first
    code = textwrap.dedent(
        """
        import json, sys
        from monitor.parse.language import detect_language
        print(json.dumps([detect_language(t) for t in json.load(sys.stdin)]))
        """
    )
    # A different hash seed would expose any dependence on set or dict ordering.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([text for _, text in CASES]),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == first


def test_needs_no_network() -> None:
    # Proxies point at a closed port and every socket connect or DNS lookup raises: a detector that
    # fetched a model at import or on first use would fail here, whatever the machine's network.
    code = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network used")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.getaddrinfo = refuse
        socket.create_connection = refuse
        from monitor.parse.language import detect_language
        print(detect_language("Merkez Bankası faiz oranlarını yüzde 50'de sabit tuttu"))
        """
    )
    nowhere = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HTTP_PROXY": nowhere,
        "HTTPS_PROXY": nowhere,
        "ALL_PROXY": nowhere,
        "http_proxy": nowhere,
        "https_proxy": nowhere,
        "all_proxy": nowhere,
        "NO_PROXY": "",
        "no_proxy": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert done.stdout.strip() == "tr"
    assert "network used" not in done.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_news_code_or_none(text: str) -> None:
    result = detect_language(text)
    assert result is None or result in NEWS_LANGUAGES
