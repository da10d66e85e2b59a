"""SIREN and INSEE validation, and the folding that makes search forgiving."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from tdi_kit.identifiers import Insee, Siren, luhn_valid
from tdi_kit.text import fold, search_terms

SIREN = TypeAdapter(Siren)
INSEE = TypeAdapter(Insee)


@pytest.mark.parametrize(
    "siren",
    # EPCIs, a commune, and two made-up numbers whose key happens to be right.
    ["200065647", "200069052", "247000722", "212503882", "000000000", "123456782"],
)
def test_a_siren_with_a_right_luhn_key_is_valid(siren: str) -> None:
    assert luhn_valid(siren)
    assert SIREN.validate_python(siren) == siren


@pytest.mark.parametrize("siren", ["200065648", "200065646", "123456789", "212503883"])
def test_a_siren_with_a_wrong_luhn_key_is_refused(siren: str) -> None:
    assert not luhn_valid(siren)
    with pytest.raises(ValidationError, match="Luhn"):
        SIREN.validate_python(siren)


@pytest.mark.parametrize("siren", ["20006564", "2000656470", "20006564A", " 200065647", ""])
def test_a_siren_is_nine_digits(siren: str) -> None:
    with pytest.raises(ValidationError, match="pattern"):
        SIREN.validate_python(siren)


def test_every_single_digit_error_breaks_the_luhn_key() -> None:
    siren = "200065647"
    for i in range(9):
        for digit in "0123456789":
            if digit != siren[i]:
                assert not luhn_valid(siren[:i] + digit + siren[i + 1 :]), (i, digit)


@pytest.mark.parametrize("insee", ["25388", "01001", "2A004", "2B033", "97101", "97611"])
def test_insee_codes_are_five_digits_or_corsican(insee: str) -> None:
    assert INSEE.validate_python(insee) == insee


@pytest.mark.parametrize("insee", ["2538", "253888", "2C004", "2a004", "ABCDE", "25 38"])
def test_malformed_insee_codes_are_refused(insee: str) -> None:
    with pytest.raises(ValidationError):
        INSEE.validate_python(insee)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Montbéliard-Agglo (Pays de)", "montbeliard agglo pays de"),
        ("MONTBELIARD", "montbeliard"),
        ("  Cœur de Loire  ", "coeur de loire"),
        ("ŒUVRE", "oeuvre"),
        ("L'Abergement-Clémenciat", "l abergement clemenciat"),
        ("Saint-Étienne Métropole", "saint etienne metropole"),
        ("Île-de-France", "ile de france"),
        ("ti-2708", "ti 2708"),
        ("…,;!", ""),
        ("Ｍｏｎｔ", "mont"),
    ],
)
def test_fold_ignores_case_accents_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_search_terms_are_the_folded_words() -> None:
    assert search_terms("  Montbéliard,  AGGLO!") == ["montbeliard", "agglo"]
    assert search_terms("%_") == []
    assert search_terms("") == []
