"""Helpers students import in the Regularization + Optimization notebooks.

Submodules (import what you need; nothing here is a solution):

- ``course_utils.device``  : ``get_device()``, placing tensors and datasets
- ``course_utils.seed``    : ``seed_everything()``
- ``course_utils.data``    : CIFAR-10, digits, toy sets, preprocessing, ``load_course_data()``
- ``course_utils.gradcheck``: ``rel_error``, ``grad_check_sparse``
- ``course_utils.plots``   : loss curves, class templates, decision boundaries
- ``course_utils.cifar10`` : CIFAR-10 download (MD5-checked) and its fast cache
- ``course_utils.losses``  : ``softmax_loss``, ``svm_loss`` (autograd-based, spec §3.2 interface)
- ``course_utils.optim_adapter``: ``torch_rule(name, **defaults)``, torch.optim behind the §3.3 update-rule interface
- ``course_utils.widgets`` : headless detection shared by the interactive demos
- ``course_utils.regularization_demo``: the 1-D overfitting and 2-D L1/L2 demos
- ``course_utils.playground``: the optimizer playground (``course_utils.surfaces`` holds its surfaces)
"""

__version__ = "0.1.0"
