#!/bin/sh
# Configures, builds and runs qmp/tests/consumer: the QMP library as another project's subdirectory.
# Usage: build-consumer.sh CONSUMER_DIR BUILD_DIR
set -eu
qmp=$(cd "$1/../.." && pwd)
cmake -S "$1" -B "$2" -G Ninja -DQMP_SOURCE_DIR="$qmp" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$2" -j "$(nproc)" >/dev/null
"$2/qmp_consumer"
