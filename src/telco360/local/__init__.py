"""Run the whole pipeline on a local lake folder: the gate, Job A and Job B in the state machine's
order (``telco360 run``), a demo over generated data (``telco360 demo``), and a readable run report."""
