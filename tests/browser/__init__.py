"""Browser tests: the course in JupyterLab (test_lab.py) and as a JupyterLite site, driven by Debian's Chromium."""
