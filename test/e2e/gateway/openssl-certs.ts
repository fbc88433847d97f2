/**
 * The brief's certificates, made with openssl exactly as its walkthrough does (ca.cnf, server.cnf,
 * client.cnf; `openssl req` / `openssl ca`), with -batch standing in for "accept the default values".
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CA_CNF = `HOME = .
RANDFILE = $ENV::HOME/.rnd
[ ca ]
default_ca = CA_default
[ CA_default ]
default_days = 1000
default_crl_days = 30
default_md = sha256
preserve = no
x509_extensions = ca_extensions
email_in_dn = no
copy_extensions = copy
base_dir = .
certificate = $base_dir/cacert.pem
private_key = $base_dir/cakey.pem
new_certs_dir = $base_dir
database = $base_dir/index.txt
serial = $base_dir/serial.txt
unique_subject = no
[ req ]
default_bits = 4096
default_keyfile = cakey.pem
distinguished_name = ca_distinguished_name
x509_extensions = ca_extensions
string_mask = utf8only
[ ca_distinguished_name ]
countryName = Country Name (2 letter code)
countryName_default = CN
stateOrProvinceName = State or Province Name (full name)
stateOrProvinceName_default = bj
localityName = Locality Name (eg, city)
localityName_default = bj
organizationName = Organization Name (eg, company)
organizationName_default = test-asm
organizationalUnitName = Organizational Unit (eg, division)
organizationalUnitName_default = R&D
commonName = Common Name (e.g. server FQDN or YOUR name)
commonName_default = Test CA
emailAddress = Email Address
emailAddress_default = test@example.com
[ ca_extensions ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always, issuer
basicConstraints = critical, CA:true
keyUsage = keyCertSign, cRLSign
[ signing_policy ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
emailAddress = optional
[ signing_req ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
`;

function leafCnf(keyfile: string, org: string, cn: string, email: string, san: string): string {
  return `HOME = .
RANDFILE = $ENV::HOME/.rnd
[ req ]
default_bits = 2048
default_keyfile = ${keyfile}
distinguished_name = server_distinguished_name
req_extensions = server_req_extensions
string_mask = utf8only
[ server_distinguished_name ]
countryName = Country Name (2 letter code)
countryName_default = CN
stateOrProvinceName = State or Province Name (full name)
stateOrProvinceName_default = bj
localityName = Locality Name (eg, city)
localityName_default = bj
organizationName = Organization Name (eg, company)
organizationName_default = ${org}
commonName = Common Name (e.g. server FQDN or YOUR name)
commonName_default = ${cn}
emailAddress = Email Address
emailAddress_default = ${email}
[ server_req_extensions ]
subjectKeyIdentifier = hash
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
subjectAltName = @alternate_names
nsComment = "OpenSSL Generated Certificate"
[ alternate_names ]
${san}
`;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** cacert.pem/cakey.pem, servercert.pem/serverkey.pem (test.com), clientcert.pem/client.key.pem (spiffe://test.client). */
export function makeBriefCertificates(dir: string): void {
  writeFileSync(join(dir, 'ca.cnf'), CA_CNF);
  writeFileSync(
    join(dir, 'server.cnf'),
    leafCnf('serverkey.pem', 'test', 'test.com', 'test@example.com', 'DNS.1 = test.com'),
  );
  writeFileSync(
    join(dir, 'client.cnf'),
    leafCnf(
      'client.key.pem',
      'test.client',
      'test.client',
      'test.client@example.com',
      'URI.1 = spiffe://test.client',
    ),
  );
  openssl(dir, [
    'req',
    '-batch',
    '-x509',
    '-config',
    'ca.cnf',
    '-newkey',
    'rsa:4096',
    '-sha256',
    '-nodes',
    '-out',
    'cacert.pem',
    '-outform',
    'PEM',
  ]);
  openssl(dir, [
    'req',
    '-batch',
    '-config',
    'server.cnf',
    '-newkey',
    'rsa:2048',
    '-sha256',
    '-nodes',
    '-out',
    'server.csr',
    '-outform',
    'PEM',
  ]);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial.txt'), '01\n');
  signWithCa(dir, 'server.csr', 'servercert.pem');
  openssl(dir, [
    'req',
    '-batch',
    '-config',
    'client.cnf',
    '-newkey',
    'rsa:2048',
    '-sha256',
    '-nodes',
    '-out',
    'clientcert.csr',
    '-outform',
    'PEM',
  ]);
  signWithCa(dir, 'clientcert.csr', 'clientcert.pem');
}

/** `openssl ca -config ca.cnf -policy signing_policy -extensions signing_req -out <out> -infiles <csr>`. */
export function signWithCa(dir: string, csr: string, out: string): void {
  openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-policy',
    'signing_policy',
    '-extensions',
    'signing_req',
    '-out',
    out,
    '-infiles',
    csr,
  ]);
}

/** A second, unrelated CA and a client certificate from it with the same URI SAN (the "wrong CA" client). */
export function makeStrangerClient(dir: string): void {
  openssl(dir, [
    'req',
    '-batch',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'otherca.key',
    '-out',
    'otherca.pem',
    '-subj',
    '/CN=Other CA',
    '-days',
    '2',
  ]);
  openssl(dir, [
    'req',
    '-batch',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'stranger.key',
    '-out',
    'stranger.csr',
    '-subj',
    '/CN=test.client',
    '-addext',
    'subjectAltName=URI:spiffe://test.client',
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'stranger.csr',
    '-CA',
    'otherca.pem',
    '-CAkey',
    'otherca.key',
    '-CAcreateserial',
    '-out',
    'stranger.pem',
    '-days',
    '1',
    '-copy_extensions',
    'copy',
  ]);
}
