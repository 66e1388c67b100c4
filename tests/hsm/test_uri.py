"""RFC 7512 PKCS#11 URIs: parsing, refusals, formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsm.errors import URIError
from hsm.uri import Pkcs11URI, format_uri, parse_uri, redact


def test_full_uri():
    uri = parse_uri("pkcs11:token=root-a;manufacturer=SoftHSM%20project;serial=0a1b;"
                    "model=SoftHSM%20v2;object=root;id=%01%02%ff;type=private"
                    "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin")
    assert uri == Pkcs11URI(token="root-a", manufacturer="SoftHSM project", serial="0a1b",
                            model="SoftHSM v2", object="root", id=b"\x01\x02\xff",
                            type="private", module_path="/usr/lib/softhsm/libsofthsm2.so",
                            pin_source="file:/run/pin")
    assert uri.selects_token


def test_scheme_is_case_insensitive_and_bare_label_is_a_token():
    assert parse_uri("PKCS11:token=a").token == "a"
    assert parse_uri("root-a") == Pkcs11URI(token="root-a")
    assert parse_uri("pkcs11:") == Pkcs11URI()
    assert not parse_uri("pkcs11:object=x").selects_token


def test_slot_id_and_vendor_attributes():
    uri = parse_uri("pkcs11:slot-id=42;x-vendor=thing")
    assert uri.slot_id == 42 and uri.vendor == {"x-vendor": "thing"}


@pytest.mark.parametrize("text, needle", [
    ("pkcs11:token=a;bogus=1", "unknown path attribute 'bogus'"),
    ("pkcs11:token=a;token=b", "given twice"),
    ("pkcs11:token=a%2", "bad percent-encoding"),
    ("pkcs11:token=a%zz", "bad percent-encoding"),
    ("pkcs11:type=secret", "type='secret'"),
    ("pkcs11:token=", "is empty"),
    ("pkcs11:token=a;;object=b", "stray ';'"),
    ("pkcs11:token", "is not name=value"),
    ("pkcs11:module-path=/x.so", "belongs in the query"),
    ("pkcs11:token=a?object=b", "belongs in the path"),
    ("pkcs11:slot-id=abc", "slot-id must be a decimal number"),
    ("pkcs11:token=a#frag", "fragments"),
    ("pkcs11:token=%ff", "not UTF-8"),
    ("token=a", "must start with 'pkcs11:'"),
    ("", "empty PKCS#11 URI"),
    ("pkcs11:token=a?module-name=softhsm2", "module-name is not supported"),
])
def test_malformed(text, needle):
    with pytest.raises(URIError) as exc:
        parse_uri(text)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_pin_value_is_refused_and_never_echoed():
    for text in ("pkcs11:token=a?pin-value=S3cretPIN", "pkcs11:token=a;pin-value=S3cretPIN"):
        with pytest.raises(URIError) as exc:
            parse_uri(text)
        assert "pin-value" in str(exc.value)
        assert "S3cretPIN" not in str(exc.value)
    assert "S3cret" not in redact("pkcs11:token=a?pin-value=S3cret&module-path=/x")


def test_format_percent_encodes():
    text = format_uri(token="my token;x", object="root/1", id=b"\x00\xab", type="private",
                      module_path="/a b/lib.so", pin_source="env:PIN")
    assert text == ("pkcs11:token=my%20token%3bx;object=root%2f1;id=%00%ab;type=private"
                    "?module-path=/a%20b/lib.so&pin-source=env:PIN")
    assert parse_uri(text).token == "my token;x"


@given(token=st.text(min_size=1, max_size=32), obj=st.text(min_size=1, max_size=40),
       key_id=st.binary(min_size=1, max_size=20),
       kind=st.sampled_from(["private", "public", "cert", None]))
def test_format_parse_roundtrip(token, obj, key_id, kind):
    uri = Pkcs11URI(token=token, object=obj, id=key_id, type=kind)
    assert parse_uri(format_uri(uri)) == uri
