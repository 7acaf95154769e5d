"""
@article{Cheng2026,
  title = {Region of interest segmentation and morphological analysis for membranes in cryo-electron tomography},
  author = {Cheng, Xingyi and Maufroid, Julien and Di Cicco, Aur{\'e}lie and Pelt, Dani{\"e}l M. and Dezi, Manuela and L{\'e}vy, Daniel},
  journal = {Preprint},
  year = {2026}
}

@article{Pelt2018,
  title = {A mixed-scale dense convolutional neural network for image analysis},
  author = {Pelt, Dani{\"e}l M. and Sethian, James A.},
  journal = {Proceedings of the National Academy of Sciences},
  volume = {115},
  number = {2},
  pages = {254--259},
  year = {2018},
  doi = {10.1073/pnas.1715832114}
}

@article{MoralesMartinez2025,
  title = {Membrane and vesicle structure detection in cryo-electron tomography based on deep learning},
  author = {Morales-Mart{\'i}nez, Alain and Gardu{\~n}o, Edgar and Carazo, Jos{\'e} Mar{\'i}a and Sorzano, Carlos Oscar S. and Vilas, Jos{\'e} Luis},
  journal = {Journal of Structural Biology},
  year = {2025},
  doi = {10.1016/j.jsb.2025.108258}
}

@article{Salfer2020,
  title = {Reliable estimation of membrane curvature for cryo-electron tomography},
  author = {Salfer, Maria and Collado, Javier F. and Baumeister, Wolfgang and Fern{\'a}ndez-Busnadiego, Rub{\'e}n and Mart{\'i}nez-S{\'a}nchez, Antonio},
  journal = {PLoS Computational Biology},
  volume = {16},
  number = {8},
  pages = {e1007962},
  year = {2020},
  doi = {10.1371/journal.pcbi.1007962}
}

@article{Barad2023,
  title = {Quantifying organellar ultrastructure in cryo-electron tomography using a surface morphometrics pipeline},
  author = {Barad, Benjamin A. and Medina, Michaela and Fuentes, Daniel and Wiseman, R. Luke and Grotjahn, Danielle A.},
  journal = {Journal of Cell Biology},
  volume = {222},
  number = {4},
  pages = {e202204093},
  year = {2023},
  doi = {10.1083/jcb.202204093}
}

@article{Crane2013,
  title = {Geodesics in heat: a new approach to computing distance based on heat flow},
  author = {Crane, Keenan and Weischedel, Clarisse and Wardetzky, Max},
  journal = {ACM Transactions on Graphics},
  volume = {32},
  number = {5},
  pages = {152:1--152:11},
  year = {2013},
  doi = {10.1145/2516971.2516977}
}

@article{Bernardini1999,
  title = {The ball-pivoting algorithm for surface reconstruction},
  author = {Bernardini, Fausto and Mittleman, Joshua and Rushmeier, Holly and Silva, Cl{\'a}udio and Taubin, Gabriel},
  journal = {IEEE Transactions on Visualization and Computer Graphics},
  volume = {5},
  number = {4},
  pages = {349--359},
  year = {1999},
  doi = {10.1109/2945.817351}
}
"""
