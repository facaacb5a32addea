//! Integration tests of meltano-venv with real virtualenvs: tiny wheels built on the fly (offline), uv found
//! on PATH or installed once into a shared system dir under `target/tmp` (needs PyPI the first time), and one
//! real PyPI plugin. Python 3 must be on PATH.

mod bootstrap;
mod parallel;
mod pypi;
mod support;
mod swap;
mod uv;
mod virtualenv;
