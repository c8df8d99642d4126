# Le richieste degli interessati (artt. 15-22 GDPR) e le loro scadenze. Tenere allineato con en/requests.ftl.

nav-requests = Richieste degli interessati
requests-title = Richieste degli interessati
requests-detail-title = Richiesta dell'interessato
requests-intro = Accesso, rettifica, cancellazione e gli altri diritti: si risponde entro un mese dal ricevimento (art. 12, par. 3 GDPR), prorogabile di due mesi. Prima le richieste scadute, poi per scadenza.
requests-show = Mostra
requests-show-open = Aperte
requests-show-overdue = Scadute
requests-show-soon = In scadenza entro 7 giorni
requests-show-all = Tutte
requests-kind = Tipo di richiesta
requests-kind-all = Tutti i tipi
requests-filter = Filtra
requests-empty = Nessuna richiesta corrisponde ai filtri.
requests-caption = Richieste, dalla più urgente
requests-deadline = Scadenza
requests-status = Stato
requests-received = Ricevuta il
requests-description = Che cosa chiede
requests-channel = Come è arrivata
requests-overdue = Scaduta
requests-due-soon = In scadenza
requests-new = Registra una richiesta
requests-new-hint = La scadenza è calcolata dalla data di ricevimento, sui giorni lavorativi.
requests-create = Registra
requests-back = Tutte le richieste
requests-due = Scadenza (un mese)
requests-extended-due = Scadenza prorogata
requests-extension-reason = Motivo della proroga
requests-person = Interessato
requests-person-card = Apri l'anagrafica
requests-closed = Chiusa il
requests-outcome = Esito
requests-rejection-reason = Motivo del rifiuto
requests-remedies = Mezzi di tutela comunicati
requests-remedies-hint = Chi rifiuta deve indicare i motivi e la possibilità di reclamo al Garante e di ricorso giurisdizionale (art. 12, par. 4 GDPR).
requests-default-remedies = È possibile proporre reclamo al Garante per la protezione dei dati personali (www.garanteprivacy.it) e ricorso all'autorità giudiziaria (artt. 77 e 79 GDPR).
requests-extend-hint = La proroga di due mesi è possibile una sola volta, entro il primo mese, e va comunicata all'interessato con il motivo.
requests-history = Cronologia
requests-when = Quando
requests-who = Chi
requests-from = Da
requests-to = A
requests-note = Nota
requests-by-token = Integrazione { $id }

requests-action-identity-verification = Verifica l'identità
requests-action-in-progress = Avvia la lavorazione
requests-action-completed = Completa
requests-action-rejected = Rifiuta
requests-action-extend = Proroga di due mesi

requests-error-received = Indicare una data di ricevimento valida, non futura.
requests-error-too-long = Il testo è troppo lungo (al massimo 4.000 caratteri).
requests-error-reason = Indicare il motivo del rifiuto.
requests-error-remedies = Indicare i mezzi di tutela dell'interessato.
requests-error-move = La richiesta non può passare a questo stato.
requests-error-extension-reason = Indicare il motivo della proroga.
requests-error-extension = La proroga non è più possibile: è già stata concessa, la richiesta è chiusa o è trascorso il primo mese.

done-request-created = Richiesta registrata.
done-request-moved = Stato della richiesta aggiornato.
done-request-extended = Scadenza prorogata.

requests-kind-access = Accesso
requests-kind-rectification = Rettifica
requests-kind-erasure = Cancellazione
requests-kind-restriction = Limitazione
requests-kind-portability = Portabilità
requests-kind-objection = Opposizione
requests-kind-human-review = Intervento umano su una decisione automatizzata
requests-kind-information = Informazioni

requests-status-received = Ricevuta
requests-status-identity-verification = Verifica dell'identità
requests-status-in-progress = In lavorazione
requests-status-completed = Completata
requests-status-rejected = Rifiutata

requests-channel-email = Email
requests-channel-letter = Lettera
requests-channel-phone = Telefono
requests-channel-form = Modulo online
requests-channel-in-person = Di persona

audit-target-request = Richiesta
audit-action-request-create = Registrazione di una richiesta dell'interessato
audit-action-request-move = Cambio di stato di una richiesta dell'interessato
audit-action-request-extend = Proroga di una richiesta dell'interessato
requests-rectify = Rettifica nella scheda del contatto
requests-contact = L'interessato (facoltativo)
requests-contact-hint = Indirizzo email, numero di telefono o codice CRM, quando noti: la richiesta viene così collegata alla scheda del contatto e all'esportazione dei suoi dati.
requests-error-contact = Nessun contatto corrisponde: controllare l'indirizzo, il numero o il codice CRM.
requests-link = Collega al contatto
done-request-linked = Richiesta collegata al contatto.
requests-log-for-contact = Registra una richiesta dell'interessato
audit-action-request-link = Collegamento di una richiesta dell'interessato al suo contatto

requests-outcome-erased = Anagrafica cancellata (art. 17 GDPR).

requests-note-linked = Collegata all'anagrafica dell'interessato.
requests-note-extended = Scadenza prorogata al { $date }: { $reason }
