"""PyTorch reference side of rvgg's golden tests: RepVGG modules with the official, timm and MMPretrain key
names, checkpoint writers, and the weight randomisation used by tests/golden/make_golden.py."""
