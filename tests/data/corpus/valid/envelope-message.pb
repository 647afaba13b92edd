$019b78ad-9340-7000-8000-000000000106mdc-0042"E12*MFD0j8À¦¶Å·3@z)
'On scene, requesting a second ambulance