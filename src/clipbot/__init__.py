"""clipbot: Collaborative Learning in Practice (CLiP) mentoring for nursing students on hospital wards."""

__version__ = "0.1.0"
