"""Distribution of the TomoROIS-SurfORA Scipion plugin and its standalone engine."""
from setuptools import find_packages, setup

setup(
    name="scipion-em-tomorois-surfora",
    version="0.1.0",
    description="TomoROIS (MS-D ROI segmentation) and SurfORA (membrane surface morphometry) for cryo-ET in Scipion",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="GPLv3",
    python_requires=">=3.9",
    packages=find_packages(),
    package_data={"tomorois_surfora": ["protocols.conf", "logo.png", "engine/demo_models/*.pt", "engine/demo_models/*.md"]},
    install_requires=[
        "numpy", "scipy", "mrcfile", "scikit-image", "pandas", "starfile", "plyfile",
        "scipion-em-tomo",
    ],
    extras_require={"tests": ["pytest"]},
    entry_points={
        "pyworkflow.plugin": ["tomorois_surfora = tomorois_surfora"],
        "console_scripts": ["tomorois-surfora = tomorois_surfora.engine.cli:main"],
    },
    classifiers=["Programming Language :: Python :: 3", "Topic :: Scientific/Engineering :: Bio-Informatics"],
)
