//! Integration tests of meltano-venv with real virtualenvs: tiny wheels built on the fly (offline), uv found
//! on PATH or installed once into a cache dir under `target/tmp` standing in for the user's (needs PyPI the
//! first time), the shared uv's own install (real pip, real PyPI), and one real PyPI plugin. Python 3 must be
//! on PATH.

mod parallel;
mod pypi;
mod shared_uv;
mod support;
mod swap;
mod uv;
mod virtualenv;
