"""Helpers students import in the Regularization + Optimization notebooks.

Submodules (import what you need; nothing here is a solution):

- ``course_utils.device``  : ``get_device()``, placing tensors and datasets
- ``course_utils.seed``    : ``seed_everything()``
- ``course_utils.data``    : CIFAR-10, digits, toy sets, preprocessing, ``load_course_data()``
- ``course_utils.gradcheck``: ``rel_error``, ``grad_check_sparse``
- ``course_utils.plots``   : loss curves, class templates, decision boundaries
- ``course_utils.widgets`` : headless detection shared by the interactive demos
- ``course_utils.playground``: the optimizer playground (``course_utils.surfaces`` holds its surfaces)
"""

__version__ = "0.1.0"
