"""Packaging for platform_adapter."""

from pathlib import Path

from setuptools import find_packages, setup


def _requirements() -> list[str]:
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


setup(
    name="platform_adapter",
    version="0.1.0",
    description="Interactive Brokers TWS API platform adapter with a simulated gateway",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"platform_adapter": ["py.typed", "config/*.yaml", "sim/data/*.yaml"]},
    include_package_data=True,
    install_requires=_requirements(),
    entry_points={
        "console_scripts": [
            "platform-adapter=platform_adapter.main:main",
            "pa-sim=platform_adapter.sim.__main__:main",
            "pa-service=platform_adapter.service.__main__:main",
        ]
    },
)
