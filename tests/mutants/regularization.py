"""Plausible wrong (and alternative correct) answers for the ``regularization`` assignment.

Each mutant must lose points through the real ``nbgrader autograde``; its
``hint`` must appear in one of its failing test messages, so the student is told
the likely mistake. Each correct variant must get full marks.
"""

from tests.mutants.base import Mutant, Variant

MUTANTS = [
    # --- l2_regularization ------------------------------------------------------
    Mutant("l2_half_factor", "l2_regularization", '''
        def l2_regularization(W, reg):
            return 0.5 * reg * (W * W).sum()
        ''', hint="0.5·λ·ΣW²"),
    Mutant("l2_missing_square", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * W.abs().sum()
        ''', hint="L2 squares each entry"),
    Mutant("l2_no_square_no_abs", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * W.sum()
        ''', hint="square each entry before summing"),
    Mutant("l2_ignores_reg", "l2_regularization", '''
        def l2_regularization(W, reg):
            return (W ** 2).sum()
        ''', hint="multiply by reg"),
    Mutant("l2_mean_not_sum", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * (W ** 2).mean()
        ''', hint="not the mean"),
    Mutant("l2_norm_not_squared", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * torch.linalg.norm(W)
        ''', hint="squared norm"),
    Mutant("l2_python_float", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * (W * W).sum().item()
        ''', hint="must return a torch.Tensor"),
    Mutant("l2_changes_dtype", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * (W.double() ** 2).sum()
        ''', hint="keep W's dtype"),
    Mutant("l2_in_place_square", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * W.mul_(W).sum()
        ''', hint="changed W in place"),
    Mutant("l2_not_0d", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * (W * W).sum(dim=0)
        ''', hint="0-d tensor"),
    Mutant("l2_python_loop_float", "l2_regularization", '''
        def l2_regularization(W, reg):
            total = 0.0
            for w in W.reshape(-1).tolist():
                total += w * w
            return torch.tensor(reg * total)
        ''', hint="keep W's dtype"),
    # --- l2_regularization_grad -------------------------------------------------
    Mutant("l2_grad_missing_2", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return reg * W
        ''', hint="the 2 is missing"),
    Mutant("l2_grad_wrong_sign", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return -2 * reg * W
        ''', hint="wrong sign"),
    Mutant("l2_grad_ignores_reg", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return 2 * W
        ''', hint="multiply by reg"),
    Mutant("l2_grad_is_the_penalty", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return reg * W * W
        ''', hint="not its derivative"),
    Mutant("l2_grad_mean", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return 2 * reg * W / W.numel()
        ''', hint="divided by the number of entries"),
    Mutant("l2_grad_in_place", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            W *= 2 * reg
            return W
        ''', hint="changed W in place"),
    Mutant("l2_grad_autograd", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            Wc = W.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                loss = reg * (Wc * Wc).sum()
                (g,) = torch.autograd.grad(loss, Wc)
            return g
        ''', hint="used autograd"),
    Mutant("l2_grad_autograd_backward", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            Wc = W.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                (reg * (Wc * Wc).sum()).backward()
            return Wc.grad
        ''', hint="used autograd"),
    Mutant("l2_grad_float32_constant", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return torch.tensor(2 * reg, device=W.device) * W.float()
        ''', hint="keep W's dtype"),
    # --- l1_regularization ------------------------------------------------------
    Mutant("l1_missing_abs", "l1_regularization", '''
        def l1_regularization(W, reg):
            return reg * W.sum()
        ''', hint="without the absolute value"),
    Mutant("l1_abs_outside", "l1_regularization", '''
        def l1_regularization(W, reg):
            return (reg * W.sum()).abs()
        ''', hint="absolute value of every entry, then sum"),
    Mutant("l1_is_l2", "l1_regularization", '''
        def l1_regularization(W, reg):
            return reg * (W * W).sum()
        ''', hint="the L2 penalty"),
    Mutant("l1_mean_not_sum", "l1_regularization", '''
        def l1_regularization(W, reg):
            return reg * W.abs().mean()
        ''', hint="not the mean"),
    Mutant("l1_ignores_reg", "l1_regularization", '''
        def l1_regularization(W, reg):
            return W.abs().sum()
        ''', hint="multiply by reg"),
    Mutant("l1_python_float", "l1_regularization", '''
        def l1_regularization(W, reg):
            return float(reg * W.abs().sum())
        ''', hint="must return a torch.Tensor"),
    Mutant("l1_in_place_abs", "l1_regularization", '''
        def l1_regularization(W, reg):
            return reg * W.abs_().sum()
        ''', hint="changed W in place"),
    # --- l1_regularization_grad -------------------------------------------------
    Mutant("l1_grad_sign_at_zero_is_one", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return reg * ((W >= 0).to(W.dtype) * 2 - 1)
        ''', hint="sign at 0 must be 0"),
    Mutant("l1_grad_eps_division", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return reg * W / (W.abs() + 1e-12)
        ''', hint="is not the sign"),
    Mutant("l1_grad_wrong_sign", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return -reg * torch.sign(W)
        ''', hint="wrong sign"),
    Mutant("l1_grad_ignores_reg", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return torch.sign(W)
        ''', hint="multiply by reg"),
    Mutant("l1_grad_factor_2", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return 2 * reg * torch.sign(W)
        ''', hint="the 2 belongs to L2"),
    Mutant("l1_grad_is_l2_grad", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return 2 * reg * W
        ''', hint="the L2 gradient"),
    Mutant("l1_grad_default_dtype", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return torch.where(W > 0, reg, torch.where(W < 0, -reg, 0.0))
        ''', hint="keep W's dtype"),
    Mutant("l1_grad_in_place", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return W.sign_().mul_(reg)
        ''', hint="changed W in place"),
    Mutant("l1_grad_autograd", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            Wc = W.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                (g,) = torch.autograd.grad(reg * Wc.abs().sum(), Wc)
            return g
        ''', hint="used autograd"),
]

CORRECT = [
    # --- l2_regularization ------------------------------------------------------
    Variant("l2_pow_sum", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * torch.sum(W ** 2)
        '''),
    Variant("l2_einsum", "l2_regularization", '''
        def l2_regularization(W, reg):
            w = W.reshape(-1)
            return reg * torch.einsum("i,i->", w, w)
        '''),
    Variant("l2_squared_norm", "l2_regularization", '''
        def l2_regularization(W, reg):
            return reg * torch.linalg.vector_norm(W) ** 2
        '''),
    Variant("l2_in_place_on_clone", "l2_regularization", '''
        def l2_regularization(W, reg):
            sq = W.clone()
            sq.mul_(W)
            return sq.sum().mul_(reg)
        '''),
    # --- l2_regularization_grad -------------------------------------------------
    Variant("l2_grad_in_place_on_clone", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            dW = W.clone()
            dW.mul_(2 * reg)
            return dW
        '''),
    Variant("l2_grad_torch_mul", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return torch.mul(W, 2.0 * reg)
        '''),
    Variant("l2_grad_add_self", "l2_regularization_grad", '''
        def l2_regularization_grad(W, reg):
            return reg * W + W * reg
        '''),
    # --- l1_regularization ------------------------------------------------------
    Variant("l1_vector_norm", "l1_regularization", '''
        def l1_regularization(W, reg):
            return reg * torch.linalg.vector_norm(W, ord=1)
        '''),
    Variant("l1_where", "l1_regularization", '''
        def l1_regularization(W, reg):
            return reg * torch.where(W < 0, -W, W).sum()
        '''),
    Variant("l1_einsum_sign", "l1_regularization", '''
        def l1_regularization(W, reg):
            w = W.reshape(-1)
            return reg * torch.einsum("i,i->", w, torch.sign(w))
        '''),
    # --- l1_regularization_grad -------------------------------------------------
    Variant("l1_grad_where", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            one = torch.ones_like(W)
            return reg * torch.where(W > 0, one, torch.where(W < 0, -one, torch.zeros_like(W)))
        '''),
    Variant("l1_grad_masks", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            return reg * ((W > 0).to(W.dtype) - (W < 0).to(W.dtype))
        '''),
    Variant("l1_grad_in_place_on_clone", "l1_regularization_grad", '''
        def l1_regularization_grad(W, reg):
            dW = torch.zeros_like(W)
            dW[W > 0] = reg
            dW[W < 0] = -reg
            return dW
        '''),
]
