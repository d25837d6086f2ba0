"""Operate the deployed pipeline from the same CLI (boto3): start a run, backfill a range, replay
archived or fixed rejected files, redrive the S3 events the validator gave up on, and see what recent
executions did. The stack is found by the name ``samconfig.toml`` deploys it under."""
