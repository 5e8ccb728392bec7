"""`preuve serve CASE.db`: a local console over a case store.

It binds the loopback interface, with a random token in the URL it prints;
every action is protected against cross-site requests; every value from the
evidence is escaped and clipped. Its assets are shipped in the package: it
fetches nothing. It needs the optional extra ``pip install 'preuve[serve]'``;
`preuve check` never imports it.
"""
