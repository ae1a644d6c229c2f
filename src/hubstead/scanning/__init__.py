"""Scanning of uploaded files: pickle imports (picklescan) and safetensors headers, keyed by content, reported
per file and per revision as huggingface.co reports them, and the downloads a finding may block."""
