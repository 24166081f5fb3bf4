#!/bin/sh
# fetch's AWS_LAMBDA_EXEC_WRAPPER (serverless.yml): Lambda starts the runtime through this script,
# "$1" being the node binary and the rest its arguments, and the script adds one V8 option that
# NODE_OPTIONS refuses. Left to itself V8 sizes the old generation's limit for the small heap a
# worker starts with, then runs a full collection every few MiB streamed, marking the SDK's whole
# heap each time: most of the worker's CPU above its floor (bench/TUNING.md). The benchmark
# starts its worker through this same script.
node="$1"
shift
exec "$node" --initial-old-space-size=64 "$@"
