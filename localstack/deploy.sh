#!/usr/bin/env bash
# Deploys template.yaml to a running LocalStack (see localstack/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/python-tools
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/pip install --quiet aws-sam-cli-local
export AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test SAM_CLI_TELEMETRY=0
samlocal build
# A dev stage: the template refuses a prod stage on the simulated payment provider.
samlocal deploy --stack-name storefront --resolve-s3 --capabilities CAPABILITY_IAM --no-confirm-changeset \
  --parameter-overrides StageName=dev
samlocal list stack-outputs --stack-name storefront
