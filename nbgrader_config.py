"""nbgrader settings for the Regularization + Optimization course.

Everything nbgrader needs lives here, not in code: the autograder, the Makefile
and the tests all run nbgrader against this file (they pass
``--CourseDirectory.root`` when they work in a scratch copy).
"""

c = get_config()  # noqa: F821 (injected by traitlets)

# --- the course -------------------------------------------------------------
c.CourseDirectory.course_id = "regopt"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Default sqlite gradebook at <root>/gradebook.db. Only the autograder's
# coordinator writes it; set a PostgreSQL URL here for a shared course server:
# c.CourseDirectory.db_url = "postgresql://user@host/regopt"

# Assignments, in teaching order (autograder.course.Syllabus): release, publish
# and demo follow it; an assignment folder not listed here comes after these.
c.Syllabus.assignments = ["regularization", "gradients", "optimizers", "linear_classifier"]
# nbgrader 0.9 keeps assignments and due dates in the gradebook, not here;
# `python -m autograder release` creates them, and due dates are set per term with
#   nbgrader db assignment add optimizers --duedate="2027-03-01 23:59:00 UTC"
# Only notebooks are copied from source/<assignment>/ into release/.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.bak",
]

# --- what students see --------------------------------------------------------
c.ClearSolutions.code_stub = {
    "python": (
        "# YOUR CODE HERE\n"
        "raise NotImplementedError(\"Write this part, then run the check cell below it.\")"
    ),
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
c.GenerateAssignment.create_assignment = True

# --- grading ------------------------------------------------------------------
# A student who deletes a test cell gets it back from the gradebook.
c.OverwriteCells.add_missing_cells = True
# Per-cell limit; the autograder adds a whole-notebook budget on top.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.ExecutePreprocessor.timeout = 60
# Anything on stderr in a test cell costs all its points in nbgrader; warnings,
# tqdm bars and logging are not wrong answers, so strip stderr before scoring.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"
# Keep huge outputs from bloating autograded notebooks and feedback.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# The autograder's whole-notebook budget and per-cell events (autograder.grading.child.BudgetedExecute);
# `python -m autograder grade --timeout-notebook S` sets the budget per run:
# c.BudgetedExecute.notebook_budget = 600.0
#
# The student kernel's sandbox (autograder.grading.sandbox; defaults shown). An environment
# variable overrides a setting here: AUTOGRADER_SANDBOX=require|auto|off, AUTOGRADER_SANDBOX_<FIELD>.
# c.Sandbox.mode = "auto"           # auto: bubblewrap when it works | require: refuse to grade without | off
# c.Sandbox.memory_mb = 4096        # address space per kernel (torch maps ~1.5 GB)
# c.Sandbox.cpu_seconds = 1200      # CPU time per kernel; the notebook budget is the wall-clock limit
# c.Sandbox.max_processes = 256     # processes and threads
# c.Sandbox.max_file_mb = 128       # largest file a kernel may write
# c.Sandbox.tmp_mb = 256            # private /tmp
# c.Sandbox.extra_ro_paths = []     # more folders the kernel may read
# Late submissions lose 10% of the assignment per started day, never below 0.
c.AssignLatePenalties.plugin_class = "autograder.late.PercentPerDayPenalty"
c.Autograde.create_student = True

# --- integrity: what the grader's policy scan enforces in this course ------------
# Functions that must compute their result themselves. A forbidden feature
# ("optim": torch.optim; "autograd": .backward(), torch.autograd, requires_grad
# ...) reached from one of these answer cells, also through the student's own
# helpers, voids that function's tests (status "flagged", for TA review). The
# message ("why") is shown to the student. Names are answer-cell grade ids.
c.Policy.restrictions = [
    {"functions": ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw",
                   "newton_step"],
     "forbid": ["optim", "autograd"],
     "why": "an update rule must compute the step itself, without torch.optim or autograd"},
    {"functions": ["numeric_gradient", "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive",
                   "softmax_loss_vectorized", "l2_regularization_grad", "l1_regularization_grad"],
     "forbid": ["autograd"],
     "why": "an analytic gradient must not use autograd"},
]

# --- validate -----------------------------------------------------------------
# Students see failures of test cells only; the course gates pass --Validator.validate_all=True
c.Validator.validate_all = False
