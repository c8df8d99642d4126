# Conservazione (GDPR art. 5, par. 1, lett. e): le anagrafiche oltre il periodo di conservazione delle loro finalità.
nav-retention = Conservazione
retention-title = Conservazione
retention-intro = Anagrafiche senza alcun consenso valido, il cui ultimo consenso è terminato da più tempo del periodo di conservazione delle loro finalità (marketing { $marketing_text } mesi, profilazione { $profiling_text } mesi), e senza richieste aperte.
retention-count = { $count ->
    [one] Un'anagrafica ha superato il periodo di conservazione.
   *[other] { $count_text } anagrafiche hanno superato il periodo di conservazione.
}
retention-none = Nessuna anagrafica ha superato il periodo di conservazione.
retention-col-contact = Anagrafica
retention-col-ended = Fine dell'ultimo consenso
retention-col-months = Conservazione (mesi)
retention-col-purposes = Finalità
retention-open-card = Apri la scheda
retention-more = Sono elencate solo le prime { $count_text }.
retention-confirm = Anonimizza definitivamente
retention-confirm-hint = Ciascuna viene cancellata come per una richiesta di cancellazione (motivo: conservazione), a blocchi; l'operazione è irreversibile.
retention-applied = { $count ->
    [0] Nessuna anagrafica è stata anonimizzata.
    [one] Un'anagrafica è stata anonimizzata.
   *[other] { $count_text } anagrafiche sono state anonimizzate.
}
