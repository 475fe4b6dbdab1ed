#!/usr/bin/env bash
# Checks that the launcher's class-data archive holds the classes an ordinary command loads, picocli's
# among them (JDK 17's dynamic archives left out its Java 5 class files, ~190 classes parsed and
# verified again on every run): `--help` (G1), `stat` (serial collector), `compress` and
# `decompress` must take picocli's CommandLine and the command's own classes from the archive, and
# leave at most a few of picocli's classes out; the decompressed file must equal the original.
# `ls` of a repository whose lower tier is S3 (the gateway on loopback, started here and stopped
# at the end) must take the AWS SDK's S3 client and HTTP client from it too.
# Records the archive first if the jar has none. Exits non-zero on a miss.
#
# Usage: cli/scripts/class-archive-test.sh      (from anywhere, after `mvn package`)
# Env:   DHARMANA   the launcher to check (default: the repository's ./dharmana)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
launcher="${DHARMANA:-$ROOT/dharmana}"
scratch="$(mktemp -d)"
source "$ROOT/cli/scripts/s3-repository.sh"
trap 's3_repository_stop; rm -rf "$scratch"' EXIT

"$launcher" init "$scratch/repo" > /dev/null # records the archive if missing
failed=0
check() { # NAME "CLASSES" ARGS...: runs the launcher with class loading logged, checks where classes came from
  local name=$1 classes=$2
  shift 2
  DHARMANA_JAVA_OPTS="-Xmx512m -Xlog:class+load=info" "$launcher" "$@" > "$scratch/$name.log" 2>&1 || true
  local shared loaded
  shared=$(grep -c 'source: shared objects file' "$scratch/$name.log" || true)
  loaded=$(grep -c '^\[.*\]\[class,load\]' "$scratch/$name.log" || true)
  local picocli_out
  picocli_out=$(grep '\[class,load\] picocli\.' "$scratch/$name.log" | grep -vc 'source: shared objects file' || true)
  echo "$name: $shared of $loaded classes from the archive; picocli classes outside it: $picocli_out"
  for class in picocli.CommandLine io.dharmana.cli.Main $classes; do
    if ! grep -q "\[class,load\] $class source: shared objects file" "$scratch/$name.log"; then
      echo "FAIL $name: $class was not taken from the archive" >&2
      failed=1
    fi
  done
  if [ "$picocli_out" -gt 5 ]; then
    echo "FAIL $name: $picocli_out picocli classes were loaded from the jar, not the archive" >&2
    failed=1
  fi
}
check help "picocli.CommandLine\$Help" --help
check stat "io.dharmana.cli.StatCommand io.dharmana.repo.Repository" stat "$scratch/repo"
golden="$ROOT/core/src/test/resources/io/dharmana/tensor/file/golden-v1.safetensors"
check compress "io.dharmana.tensor.codec.PlaneCoder io.dharmana.tensor.file.TensorFileWriter" \
  compress "$golden" -o "$scratch/golden.dhz"
check decompress "io.dharmana.tensor.codec.PlaneCoder io.dharmana.tensor.file.TensorFileReader" \
  decompress "$scratch/golden.dhz" -o "$scratch/golden.safetensors"
cmp "$golden" "$scratch/golden.safetensors" || { echo "FAIL decompress: output differs from $golden" >&2; failed=1; }
s3_repository_start "$ROOT/cli/target/dharmana.jar" "$scratch"
check s3-ls "software.amazon.awssdk.services.s3.S3Client software.amazon.awssdk.services.s3.DefaultS3Client \
  org.apache.hc.client5.http.impl.classic.CloseableHttpClient io.dharmana.s3.S3Store" ls "$S3_REPO"
grep -q 'data/object-3.bin' "$scratch/s3-ls.log" || { echo "FAIL s3-ls: the listing misses data/object-3.bin" >&2; failed=1; }
exit $failed
