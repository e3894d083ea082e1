"""PII reduction: real-looking secrets become placeholders; look-alikes that are not PII survive."""

from __future__ import annotations

import pytest

from opc_data.pii import PiiConfig, PiiRedactor, redact_pii


def test_email_in_header_comment_and_string_is_replaced():
    src = "# Author: Jane Doe <jane.doe@gmail.com>\nMAINTAINER = \"ops-team@corp.io\"\n"
    out, counts = redact_pii(src, "python")
    assert out == "# Author: Jane Doe <<EMAIL>>\nMAINTAINER = \"<EMAIL>\"\n"
    assert counts == {"email": 2}


@pytest.mark.parametrize("text", [
    "@app.route('/users')\ndef users(): ...\n",
    "@functools.lru_cache(maxsize=None)\n",
    '"lodash@4.17.21":\n  version "4.17.21"\n',
    "npm install @babel/core@7.22.0\n",
    "y = self.a@self.weight.T\n",
])
def test_decorators_and_package_specs_are_not_emails(text):
    assert redact_pii(text, "python") == (text, {})


def test_ssh_remotes_kept_by_default_and_replaced_when_recipe_says_so():
    doc = "Clone with `git clone git@github.com:psf/requests.git` or ssh://git@gitlab.example.org/x.git\n"
    assert redact_pii(doc, "markdown")[0] == doc
    out, counts = redact_pii(doc, "markdown", PiiConfig(keep_ssh_remotes=False))
    assert "git@github.com" not in out and counts["email"] >= 1


def test_ipv4_and_ipv6_addresses_are_replaced():
    src = 'SERVER = "203.0.113.7"\nproxy = "http://10.10.1.10:3128"\nv6 = "2001:db8:85a3::8a2e:370:7334"\n'
    out, counts = redact_pii(src, "python")
    assert out == 'SERVER = "<IP_ADDRESS>"\nproxy = "http://<IP_ADDRESS>:3128"\nv6 = "<IP_ADDRESS>"\n'
    assert counts == {"ip_address": 3}


@pytest.mark.parametrize("text", [
    "foo==1.2.3.4\nbar>=10.0.1.2\n",  # requirement pins
    "__version__ = \"3.5.0.1\"\n",
    "Version: 2.10.4.1\n",
    "see RFC 9110 section 8.4.1.3\n",
    "[assembly: AssemblyVersion(\"17.0.0.0\")]\n",
    "v23.1.0\t2024-10-24\t10.9.0\t12.4.254.21\n",  # a release table row: v8 version next to npm's
    "oid 1.3.6.1.4.1.311.21.7\n",
    "listen 127.0.0.1 and 0.0.0.0\n",
    "std::vector<int> v; ts = '12:30:45'; mac = '00:1a:2b:3c:4d:5e'\n",
    "pairs = zip(split[::2], split[1::2])\n",
])
def test_version_strings_and_other_look_alikes_are_not_ip_addresses(text):
    assert redact_pii(text, "python") == (text, {})


def test_aws_style_keys_and_known_token_formats_become_key():
    src = (
        "aws_access_key_id = AKIAQ7ZK3JX4PLM2TRWD\n"
        'aws_secret_access_key = "Zq8vR2kLm9Tx4Wb7Yc1Nd6Fh3Jp0Sg5Ua8Ve2Xo"\n'
        "token = 'ghp_4fT9kQ2mZ8xW1vB7nR3cL6yH0jD5sA9eP2uK'\n"
    )
    out, counts = redact_pii(src, "ini")
    assert "AKIAQ7ZK3JX4PLM2TRWD" not in out and "Zq8vR2kLm9" not in out and "ghp_" not in out
    assert out.count("<KEY>") == 3 and counts == {"key": 3}


def test_pem_private_key_body_is_replaced():
    src = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq9\nAbCdEf0123==\n-----END RSA PRIVATE KEY-----\n"
    out, counts = redact_pii(src, "text")
    assert out == "-----BEGIN RSA PRIVATE KEY-----\n<KEY>\n-----END RSA PRIVATE KEY-----\n"
    assert counts == {"key": 1}


@pytest.mark.parametrize("text", [
    "commit 1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e\n",  # git hash
    'integrity sha512-9QZ1Mn7tdXBxkWfkJJ6Rk0DAdfmOBXHcIu2mBkUmc5uy5iQaTTbDSGDxkNtDdA3Y/hg1ehASDJ5Ml8kR3Hn1HpQ==\n',
    'checksum = "cb2ebe1d1f4d5e5c3a0e4b1f2a6a0f5f8a4b2a8f6a9f8f07b9b8f5d3d2e3e2c1"\n',  # Cargo.lock
    '"hash": "sha256:4b8f3c2a1d9e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1"\n',  # poetry.lock
    'token_name = "refresh_token_cookie"\n',
    'api_key = "YOUR_API_KEY_HERE_PLEASE"\n',
])
def test_hashes_and_placeholders_are_not_keys(text):
    assert redact_pii(text, "toml") == (text, {})


def test_password_assignments_and_url_credentials_become_password():
    src = (
        'password = "hunter2!x"\n'
        "db = connect(password=get_password())\n"
        '{"passwd": "s3cret-Value"}\n'
        "DATABASE_URL = 'postgres://admin:Str0ngP4ss@db.internal:5432/app'\n"
    )
    out, counts = redact_pii(src, "python")
    assert out == (
        'password = "<PASSWORD>"\n'
        "db = connect(password=get_password())\n"
        '{"passwd": "<PASSWORD>"}\n'
        "DATABASE_URL = 'postgres://admin:<PASSWORD>@db.internal:5432/app'\n"
    )
    assert counts == {"password": 3}


def test_env_file_password_without_quotes():
    out, counts = redact_pii("DB_HOST=db\nDB_PASSWORD=supersecret42\n", "dotenv")
    assert out == "DB_HOST=db\nDB_PASSWORD=<PASSWORD>\n" and counts == {"password": 1}


def test_redactor_accumulates_counts_and_can_be_switched_off():
    r = PiiRedactor()
    r("a@corp.io b@corp.io", "text")
    r("8.8.8.8", "text")
    assert r.counts == {"email": 2, "ip_address": 1}
    off = PiiRedactor(PiiConfig(enabled=False))
    assert off("a@corp.io", "text") == ("a@corp.io", {})


@pytest.mark.parametrize("src,lang", [
    ('print("Enter password:", end=" ")\n', "python"),
    ('System.out.println("password: " + pw);\n', "java"),
    ('PROMPT = "Password: "\nKEY = "db.password"\n', "python"),
    ('url = f"postgresql://{user}:{password}@{host}/db"\n', "python"),
])
def test_password_rule_never_crosses_a_string_boundary_or_takes_labels(src, lang):
    assert redact_pii(src, lang) == (src, {})


def test_password_value_with_an_escaped_quote_is_replaced_whole():
    assert redact_pii('DB_PASSWORD = "p@ss\\"word"\n', "python")[0] == 'DB_PASSWORD = "<PASSWORD>"\n'


@pytest.mark.parametrize("src", ["scores = q@k.mT * scale\n", "y = x@w.to(device)\n", "z = a@b.T + c@d.at\n"])
def test_matrix_products_are_not_emails(src):
    assert redact_pii(src, "python") == (src, {})


@pytest.mark.parametrize("src", [
    'UA = "foo-crawler/1.2.3.4 (+https://x.io/bot)"\n', " * @since 1.2.3.4\n", 'firmware = "4.2.1.7"\n',
    'assemblyVersion = "1.2.3.4"\n', 'red = img[::2, 1::2]\n',
])
def test_dotted_versions_and_slices_are_not_ip_addresses(src):
    assert redact_pii(src, "python") == (src, {})


@pytest.mark.parametrize("src", [
    'TOKEN_ENV_VAR = "GITHUB_ACCESS_TOKEN"\n', 'token_header = "X-Auth-Token"\n',
    'secret_name = "prod/db/credentials"\n', 'token_provider = "BearerTokenProviderFactory"\n',
])
def test_names_of_env_vars_and_headers_are_not_keys(src):
    assert redact_pii(src, "python") == (src, {})


def test_phone_numbers_are_replaced_and_look_alikes_kept():
    src = ('SUPPORT = "+1 (415) 555-0132"\n# office: 020 7946 0958\nBERLIN = "+49 30 901820"\n'
           'DAY = "2024-01-15"\nN = 4155550132\nD = 415-555-132\nV = "1.2.3"\nROW = [415, 555, 132]\n')
    out, counts = redact_pii(src, "python")
    assert out == ('SUPPORT = "<PHONE_NUMBER>"\n# office: <PHONE_NUMBER>\nBERLIN = "<PHONE_NUMBER>"\n'
                   'DAY = "2024-01-15"\nN = 4155550132\nD = 415-555-132\nV = "1.2.3"\nROW = [415, 555, 132]\n')
    assert counts == {"phone_number": 3}
    assert redact_pii("long x = 123-456-7890;\n", "c") == ("long x = 123-456-7890;\n", {})  # arithmetic


def test_example_domain_emails_are_kept_by_default_and_replaced_when_configured():
    src = 'DOCS = "ops@example.com"\nTEST = "bob@mail.test"\n'
    assert redact_pii(src, "python") == (src, {})
    out, counts = redact_pii(src, "python", PiiConfig(keep_example_emails=False))
    assert counts == {"email": 2} and "example.com" not in out
