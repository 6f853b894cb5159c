#!/usr/bin/env bash
# bootgate-host.sh: the host side of bootgate (enroll, attest, release) with tpm2-tools alone.
# Needs bash, coreutils, curl, jq, openssl and tpm2-tools 5.x; TPM2TOOLS_TCTI selects the TPM.
set -euo pipefail
umask 077

PROG=${0##*/}
EK_CERT_NV_RSA=0x1c00002
EK_CERT_NV_ECC=0x1c0000a
DEFAULT_EVENTLOG=/sys/kernel/security/tpm0/binary_bios_measurements
# DER SubjectPublicKeyInfo header of an EC P-256 key; the 65-byte point 04||x||y follows.
P256_SPKI_PREFIX=3059301306072a8648ce3d020106082a8648ce3d030107034200

usage() {
  cat <<EOF
Usage: $PROG COMMAND [OPTIONS]

Commands:
  enroll   --server URL --host-id ID [--profile NAME]... [--ek rsa|ecc]
           Reads the EK certificate from the TPM (NV $EK_CERT_NV_RSA for RSA, $EK_CERT_NV_ECC for
           ECC P-256), creates the EK and an attestation key (AK) under it, enrolls with the
           verifier and proves the AK is in this TPM with tpm2_activatecredential.
           Prints "enrolled ID". --profile asks for golden profiles at enrollment.
  attest   --server URL --host-id ID [--eventlog FILE] [--binding-key FILE]
           Gets a nonce and the PCR selection the verifier names, quotes it with the AK, sends
           the quote, the event log (default $DEFAULT_EVENTLOG)
           and the quoted PCR values, and prints the verifier's answer (JSON).
           --binding-key FILE: a P-256 private key (PEM, made with openssl if FILE does not
           exist) bound to the attestation token: the quote's extraData is
           SHA-256(nonce || RFC 7638 JWK thumbprint) instead of the nonce.
  release  --server URL --host-id ID --secret NAME --binding-key FILE [--eventlog FILE]
           Attests with the binding key, then asks for the secret's release and prints the
           compact JWE, which only the binding key decrypts.

Options for every command:
  --state DIR    where the AK (ak.pub, ak.priv, ak.ctx) is kept (default /var/lib/bootgate-host)
  --cacert FILE  CA certificate(s) for an https:// verifier
  -h, --help     this text

PCR values: tpm2_quote prints the values it quoted; they go to the verifier as
"pcrs": {"<bank>": {"<pcr>": "<hex>"}}. The verifier replays the event log for the PCRs the log
covers and uses these values only for the others (such as PCR 10, IMA).

The AK's saved context (ak.ctx) does not survive a TPM reset; after a reboot the AK is loaded
again from ak.pub and ak.priv under the re-created EK. Transient objects are flushed after each
step (tpm2_flushcontext -t), as a TPM without a resource manager (swtpm) needs.

Exit status: 0 enrolled / pass / released; 1 the verifier decided against this host (verdict
fail, or enrollment or release refused); 2 anything else (usage, missing tool, the TPM refused,
the verifier unreachable or answering an error).
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "$*"; exit 2; }
refused() { say "$*"; exit 1; }

COMMAND=${1:-}
[[ $COMMAND == -h || $COMMAND == --help ]] && { usage; exit 0; }
[[ $COMMAND == enroll || $COMMAND == attest || $COMMAND == release ]] || { usage >&2; die "unknown command '${COMMAND}'"; }
shift
SERVER='' HOST_ID='' STATE=/var/lib/bootgate-host EVENTLOG=$DEFAULT_EVENTLOG BINDING_KEY='' SECRET='' EK_ALG='' CACERT=''
PROFILES=()
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --server | --host-id | --profile | --state | --eventlog | --binding-key | --secret | --ek | --cacert)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --server) SERVER=${2%/} ;;
        --host-id) HOST_ID=$2 ;;
        --profile) PROFILES+=("$2") ;;
        --state) STATE=$2 ;;
        --eventlog) EVENTLOG=$2 ;;
        --binding-key) BINDING_KEY=$2 ;;
        --secret) SECRET=$2 ;;
        --ek) EK_ALG=$2 ;;
        --cacert) CACERT=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown option '$1' (see $PROG --help)" ;;
  esac
done
[[ -n $SERVER ]] || die "--server URL is required"
[[ $SERVER =~ ^https?:// ]] || die "--server must be an http:// or https:// URL"
[[ $HOST_ID =~ ^[A-Za-z0-9._:-]{1,128}$ ]] || die "--host-id is required: 1-128 characters from [A-Za-z0-9._:-]"
[[ -z $EK_ALG || $EK_ALG == rsa || $EK_ALG == ecc ]] || die "--ek is rsa or ecc"
[[ $COMMAND != release || (-n $SECRET && -n $BINDING_KEY) ]] || die "release needs --secret NAME and --binding-key FILE"

[[ $COMMAND != release || $SECRET =~ ^[A-Za-z0-9._:-]{1,128}$ ]] || die "--secret is 1-128 characters from [A-Za-z0-9._:-]"

for tool in curl jq openssl base64 od sha256sum stat tr head tail cat cp rm mkdir mktemp chmod tpm2_createek tpm2_createak tpm2_load \
  tpm2_readpublic tpm2_quote tpm2_nvread tpm2_nvreadpublic tpm2_startauthsession tpm2_policysecret tpm2_activatecredential tpm2_flushcontext; do
  command -v "$tool" >/dev/null || die "$tool is not installed (needs coreutils, curl, jq, openssl and tpm2-tools 5.x)"
done

WORK=$(mktemp -d)
cleanup() {
  tpm2_flushcontext -t >/dev/null 2>&1 || true
  [[ -f $WORK/session.ctx ]] && { tpm2_flushcontext "$WORK/session.ctx" >/dev/null 2>&1 || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

# Runs a tpm2-tools command; the TPM's refusal ends the script with the tool's own words. Without a
# resource manager every tool leaves its transient objects loaded, and swtpm holds only three.
tpm() {
  local tool=$1
  shift
  if ! "$tool" "$@" >"$WORK/tpm.out" 2>"$WORK/tpm.err"; then
    die "$tool failed, the TPM or its connection (TPM2TOOLS_TCTI) refused: $(tail -n 3 "$WORK/tpm.err" | tr '\n' ' ')"
  fi
  tpm2_flushcontext -t >/dev/null 2>&1 || true
}

b64() { base64 -w0 <"$1"; }
hex() { od -An -v -tx1 <"$1" | tr -d ' \n'; }

# HTTP to the verifier: answer in $WORK/answer, status in $STATUS; an unreachable verifier is an error.
STATUS=''
http() {
  local method=$1 path=$2 body=$3 extra=()
  [[ -n $CACERT ]] && extra+=(--cacert "$CACERT")
  [[ -f $WORK/auth.header ]] && extra+=(-H "@$WORK/auth.header")
  if ! STATUS=$(curl -sS --connect-timeout 10 --max-time 120 -X "$method" -H 'content-type: application/json' \
    "${extra[@]}" --data-binary "@$body" -o "$WORK/answer" -w '%{http_code}' "$SERVER$path" 2>"$WORK/curl.err"); then
    die "cannot reach the verifier at $SERVER: $(tr '\n' ' ' <"$WORK/curl.err")"
  fi
}

# The verifier's refusal, as {"error": {"code", "message"}} says it.
why() {
  jq -r --arg s "$STATUS" '"HTTP \($s) \(.error.code // "error"): \(.error.message // "")"' "$WORK/answer" 2>/dev/null || printf 'HTTP %s\n' "$STATUS"
}

answered() { # answered STATUS WHAT: a decision against the host (401/403/409) exits 1, anything else 2
  [[ $STATUS == "$1" ]] && return 0
  case $STATUS in
    401 | 403 | 409) refused "the verifier refused $2: $(why)" ;;
    *) die "the verifier answered $2 with $(why)" ;;
  esac
}

ek_alg() {
  if [[ -n $EK_ALG ]]; then echo "$EK_ALG"
  elif tpm2_nvreadpublic "$EK_CERT_NV_RSA" >/dev/null 2>&1; then echo rsa
  elif tpm2_nvreadpublic "$EK_CERT_NV_ECC" >/dev/null 2>&1; then echo ecc
  else die "the TPM holds no EK certificate at NV $EK_CERT_NV_RSA (RSA) or $EK_CERT_NV_ECC (ECC P-256): ask the platform vendor, or use a TPM provisioned with one"
  fi
}

enroll() {
  mkdir -p "$STATE" || die "cannot create the state directory $STATE"
  local alg nv scheme
  alg=$(ek_alg)
  if [[ $alg == rsa ]]; then nv=$EK_CERT_NV_RSA scheme=rsassa; else nv=$EK_CERT_NV_ECC scheme=ecdsa; fi
  tpm tpm2_nvread "$nv" -C o -o "$WORK/ek-cert.der"
  tpm tpm2_createek -c "$WORK/ek.ctx" -G "$alg" -u "$WORK/ek.pub"
  tpm tpm2_createak -C "$WORK/ek.ctx" -c "$STATE/ak.ctx" -G "$alg" -g sha256 -s "$scheme" \
    -u "$STATE/ak.pub" -r "$STATE/ak.priv" -n "$STATE/ak.name"
  chmod 600 "$STATE"/ak.*
  printf '%s\n' "$alg" >"$STATE/ek-alg"
  b64 "$WORK/ek-cert.der" >"$WORK/ek-cert.b64"
  b64 "$WORK/ek.pub" >"$WORK/ek.b64"
  b64 "$STATE/ak.pub" >"$WORK/ak.b64"
  jq -n --arg hostId "$HOST_ID" --rawfile ekCert "$WORK/ek-cert.b64" --rawfile ekPub "$WORK/ek.b64" --rawfile akPub "$WORK/ak.b64" \
    '{hostId: $hostId, ekCert: $ekCert, ekPub: $ekPub, akPub: $akPub} + (if $ARGS.positional == [] then {} else {profiles: $ARGS.positional} end)' \
    --args "${PROFILES[@]}" >"$WORK/enroll.json"
  http POST /v1/enrollments "$WORK/enroll.json"
  answered 201 "the enrollment"
  local id
  id=$(jq -er '.enrollmentId | select(test("^[A-Za-z0-9._:-]{1,128}$"))' "$WORK/answer") || die "the verifier's enrollment answer has no usable enrollmentId"
  jq -er '.credentialBlob' "$WORK/answer" | base64 -d >"$WORK/credential.bin" 2>/dev/null || die "the verifier's credentialBlob is not base64"
  # The default EK template's policy is PolicySecret(TPM_RH_ENDORSEMENT).
  tpm tpm2_startauthsession --policy-session -S "$WORK/session.ctx"
  tpm tpm2_policysecret -S "$WORK/session.ctx" -c e
  tpm tpm2_activatecredential -c "$STATE/ak.ctx" -C "$WORK/ek.ctx" -i "$WORK/credential.bin" -o "$WORK/secret.bin" -P "session:$WORK/session.ctx"
  tpm tpm2_flushcontext "$WORK/session.ctx" && rm -f "$WORK/session.ctx"
  jq -n --arg secret "$(b64 "$WORK/secret.bin")" '{secret: $secret}' >"$WORK/activate.json"
  http POST "/v1/enrollments/$id/activate" "$WORK/activate.json"
  answered 200 "the activation"
  printf 'enrolled %s\n' "$HOST_ID"
}

# The AK's saved context, or the AK loaded again under a re-created EK (after a TPM reset).
load_ak() {
  [[ -f $STATE/ak.pub && -f $STATE/ak.priv ]] || die "no AK in $STATE: run '$PROG enroll' first (or pass its --state)"
  if [[ -f $STATE/ak.ctx ]] && tpm2_readpublic -c "$STATE/ak.ctx" >/dev/null 2>&1; then
    tpm2_flushcontext -t >/dev/null 2>&1 || true
    return
  fi
  local alg
  alg=$(cat "$STATE/ek-alg" 2>/dev/null || echo rsa)
  tpm tpm2_createek -c "$WORK/ek.ctx" -G "$alg"
  tpm tpm2_startauthsession --policy-session -S "$WORK/session.ctx"
  tpm tpm2_policysecret -S "$WORK/session.ctx" -c e
  tpm tpm2_load -C "$WORK/ek.ctx" -u "$STATE/ak.pub" -r "$STATE/ak.priv" -c "$STATE/ak.ctx" -P "session:$WORK/session.ctx"
  chmod 600 "$STATE/ak.ctx"
  tpm tpm2_flushcontext "$WORK/session.ctx" && rm -f "$WORK/session.ctx"
}

# Binding key: a P-256 key in PEM (made here if missing), its public JWK and RFC 7638 thumbprint.
binding_jwk() {
  [[ -f $BINDING_KEY ]] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BINDING_KEY" 2>"$WORK/openssl.err" ||
    die "cannot create the binding key $BINDING_KEY: $(tr '\n' ' ' <"$WORK/openssl.err")"
  openssl pkey -in "$BINDING_KEY" -pubout -outform DER -out "$WORK/binding.spki" 2>"$WORK/openssl.err" ||
    die "cannot read the binding key $BINDING_KEY: $(tr '\n' ' ' <"$WORK/openssl.err")"
  [[ $(hex "$WORK/binding.spki") == "$P256_SPKI_PREFIX"04* && $(stat -c %s "$WORK/binding.spki") == 91 ]] ||
    die "the binding key $BINDING_KEY is not an EC P-256 key"
  local x y
  x=$(tail -c 64 "$WORK/binding.spki" | head -c 32 | base64 -w0 | tr '+/' '-_' | tr -d '=')
  y=$(tail -c 32 "$WORK/binding.spki" | base64 -w0 | tr '+/' '-_' | tr -d '=')
  # RFC 7638: the required members in lexicographic order, no white space.
  printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" >"$WORK/jwk.json"
  openssl dgst -sha256 -binary -out "$WORK/thumbprint.bin" "$WORK/jwk.json"
}

# tpm2_quote's printed "pcrs:" section as {"bank": {"pcr": "hex"}}.
pcrs_json() {
  local in=0 bank='' line pcr value lines=()
  while IFS= read -r line; do
    if [[ $line == pcrs: ]]; then in=1
    elif ((in)) && [[ $line =~ ^\ \ ([a-z0-9]+):$ ]]; then bank=${BASH_REMATCH[1]}
    elif ((in)) && [[ $line =~ ^\ +([0-9]+)\ *:\ *0x([0-9A-Fa-f]+)$ ]]; then
      pcr=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
      lines+=("$bank $pcr ${value,,}")
    elif [[ $line =~ ^[^\ ] ]]; then in=0
    fi
  done <"$1"
  printf '%s\n' "${lines[@]}" | jq -R -s 'split("\n") | map(select(length > 0) | split(" ")) | reduce .[] as [$b, $p, $v] ({}; .[$b][$p] = $v)'
}

attest() {
  [[ -r $EVENTLOG ]] || die "cannot read the event log $EVENTLOG (the kernel's needs root)"
  load_ak
  printf '{}' >"$WORK/empty.json"
  http POST "/v1/hosts/$HOST_ID/nonce" "$WORK/empty.json"
  answered 201 "the nonce request"
  local selection extra
  selection=$(jq -r '.pcrSelection // empty' "$WORK/answer")
  [[ $selection =~ ^(sha1|sha256|sha384|sha512):[0-9]{1,2}(,[0-9]{1,2})*(\+(sha1|sha256|sha384|sha512):[0-9]{1,2}(,[0-9]{1,2})*)*$ ]] ||
    die "the verifier's nonce answer names no usable pcrSelection ('${selection:0:200}')"
  jq -er '.nonce' "$WORK/answer" | base64 -d >"$WORK/nonce.bin" 2>/dev/null || die "the verifier's nonce is not base64"
  if [[ -n $BINDING_KEY ]]; then
    binding_jwk
    extra=$(cat "$WORK/nonce.bin" "$WORK/thumbprint.bin" | sha256sum | head -c 64)
  else
    extra=$(hex "$WORK/nonce.bin")
  fi
  # With -o, tpm2_quote prints the quoted PCR values (YAML "pcrs:"), read back with the quote.
  tpm tpm2_quote -c "$STATE/ak.ctx" -l "$selection" -q "$extra" -m "$WORK/quote.msg" -s "$WORK/quote.sig" -o "$WORK/pcrs.out" -g sha256
  cp "$WORK/tpm.out" "$WORK/quote.yaml"
  pcrs_json "$WORK/quote.yaml" >"$WORK/pcrs.json"
  b64 "$WORK/quote.msg" >"$WORK/quote.b64"
  b64 "$WORK/quote.sig" >"$WORK/signature.b64"
  b64 "$EVENTLOG" >"$WORK/eventlog.b64"
  b64 "$WORK/nonce.bin" >"$WORK/nonce.b64"
  [[ -f $WORK/jwk.json ]] || printf 'null' >"$WORK/jwk.json"
  jq -n --rawfile nonce "$WORK/nonce.b64" --rawfile quote "$WORK/quote.b64" --rawfile signature "$WORK/signature.b64" \
    --rawfile eventLog "$WORK/eventlog.b64" --slurpfile pcrs "$WORK/pcrs.json" --slurpfile jwk "$WORK/jwk.json" \
    '{nonce: $nonce, quote: $quote, signature: $signature, eventLog: $eventLog, pcrs: $pcrs[0]} + (if $jwk[0] == null then {} else {bindingKey: $jwk[0]} end)' \
    >"$WORK/evidence.json"
  http POST "/v1/hosts/$HOST_ID/attestations" "$WORK/evidence.json"
  answered 200 "the attestation"
  VERDICT=$(jq -r '.verdict // empty' "$WORK/answer")
  [[ $VERDICT == pass || $VERDICT == fail ]] || die "the verifier's answer has no verdict"
}

case $COMMAND in
  enroll) enroll ;;
  attest)
    attest
    jq . "$WORK/answer"
    [[ $VERDICT == pass ]] || exit 1 ;;
  release)
    attest
    if [[ $VERDICT != pass ]]; then
      jq . "$WORK/answer" >&2
      refused "the attestation failed, so no token to release $SECRET with: $(jq -r '[.failures[].code] | join(", ")' "$WORK/answer")"
    fi
    # The token goes to curl in a file, never on a command line.
    jq -r '"Authorization: Bearer \(.token)"' "$WORK/answer" >"$WORK/auth.header"
    jq -n --slurpfile jwk "$WORK/jwk.json" '{jwk: $jwk[0]}' >"$WORK/release.json"
    http POST "/v1/secrets/$SECRET/release" "$WORK/release.json"
    answered 200 "the release of $SECRET"
    jq -er '.jwe' "$WORK/answer" || die "the verifier's release answer has no jwe" ;;
esac
