"""What operators are told and read: alerts (and the ``alert-operators`` flow), the plan tables
(``status``), work pools that nobody polls, orphaned rows, engagement and the week's report."""
