$019b78ad-9340-7000-8000-000000000106mdc-0042"E12*MFD0j8À¦¶Å·3@z=
;Patient stable ğŸš‘, arriving HÃ´pital Saint-Louis in 5 min