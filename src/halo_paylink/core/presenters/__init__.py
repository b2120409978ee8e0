"""What each wizard page shows and may do next, in plain Python (no Qt).

A presenter takes the user's input and the results of background work, and answers with a typed
view state: which phase the page is in, which buttons apply, which lines to show. The Qt page
renders that state and hands input back; it decides nothing itself. Presenters are tested in
`tests/unit` without a window.
"""
