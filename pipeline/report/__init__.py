"""Rendering results: tables beside the paper's numbers (`render`: md, csv, tex) and Figure 4 (`plots`)."""
