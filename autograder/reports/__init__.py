"""Reports: everything built from :class:`autograder.results.StudentResult` after grading:
per-student feedback, the class report, the LMS CSV (lms) and Gradescope's autograder."""
