"""After training: replaying a policy (``enjoy``), videos and learning-curve plots."""
