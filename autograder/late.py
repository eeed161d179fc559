"""Late-submission penalty plugin, configured in ``nbgrader_config.py``.

nbgrader's built-in plugin knows only "none" and "zero"; courses usually take a
fraction per started day. The plugin is called per notebook with the score the
student earned and how late the submission was (from its timestamp and the
assignment's due date in the gradebook).
"""

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDayPenalty(LateSubmissionPlugin):
    """Take ``percent_per_day`` of the earned score for every started day late."""

    percent_per_day = Float(10.0, help="Percent of the earned score lost per started day late.").tag(config=True)
    grace_seconds = Float(300.0, help="Submissions this many seconds late are not penalised.").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= self.grace_seconds or score <= 0:
            return 0.0
        days = math.ceil(total_seconds_late / 86400.0)
        fraction = min(1.0, days * self.percent_per_day / 100.0)
        penalty = round(score * fraction, 4)
        self.log.info("Late by %.0f s (%d day(s)): penalty %.3f of %.3f for %s",
                      total_seconds_late, days, penalty, score, student_id)
        return penalty
