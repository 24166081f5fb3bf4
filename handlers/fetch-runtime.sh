#!/bin/sh
# fetch's AWS_LAMBDA_EXEC_WRAPPER (serverless.yml): Lambda starts the runtime through this script,
# "$1" being the node binary and the rest its arguments, and the script adds two V8 options.
# --initial-old-space-size (which NODE_OPTIONS refuses): left to itself V8 sizes the old
# generation's limit for the small heap a worker starts with, then runs a full collection every few
# MiB streamed, marking the SDK's whole heap each time: most of the worker's CPU above its floor.
# --max-semi-space-size=1: a young generation of 1 MB, which the streamed chunks (outside the heap)
# never needed; Node 24's default grows it to 16 MB and the process's peak memory with it.
# Figures in bench/TUNING.md; the benchmark starts its worker through this same script.
node="$1"
shift
exec "$node" --initial-old-space-size=64 --max-semi-space-size=1 "$@"
