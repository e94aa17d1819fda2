#!/usr/bin/env bash
# Run vLLM's OpenAI-compatible server for Plinth on one GPU node. Put it behind nginx.conf (next to
# this file): vLLM's --api-key guards /v1 only, not every route it serves.
set -euo pipefail

MODEL="${PLINTH_VLLM_MODEL:-Qwen/Qwen2.5-7B-Instruct}"     # any instruct model vLLM supports
SERVED_NAME="${PLINTH_VLLM_SERVED_NAME:-plinth-answer}"      # = `plinth model add --served-model`
MAX_LEN="${PLINTH_VLLM_MAX_MODEL_LEN:-8192}"                 # = `plinth model add --context-length`
GPU_MEM="${PLINTH_VLLM_GPU_MEMORY_UTILIZATION:-0.90}"
: "${PLINTH_VLLM_API_KEY:?set PLINTH_VLLM_API_KEY (the same value as PLINTH_LLM_API_KEY in Plinth)}"

# Weights come from a local directory or a pre-filled cache: no downloads on the serving path.
export HF_HUB_OFFLINE=1

exec vllm serve "$MODEL" \
  --served-model-name "$SERVED_NAME" \
  --max-model-len "$MAX_LEN" \
  --gpu-memory-utilization "$GPU_MEM" \
  --enable-prefix-caching \
  --max-num-seqs 64 \
  --api-key "$PLINTH_VLLM_API_KEY" \
  --host 127.0.0.1 --port 8001 \
  --disable-log-requests
