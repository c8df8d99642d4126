# La sezione telemarketing della scheda: il Registro pubblico delle opposizioni, le sue
# eccezioni, gli esiti delle chiamate e l'opposizione. Da tenere allineato a
# en/telemarketing.ftl.

tm-title = Telemarketing e Registro delle opposizioni
tm-intro = Che cosa consente o impedisce una chiamata promozionale a ciascun numero: la verifica sul Registro pubblico delle opposizioni, gli elenchi pubblici, il contratto con il cliente e le chiamate richieste dall'interessato. Gli orari sono in { $zone }.
tm-numbers = Numeri
tm-no-numbers = L'anagrafica non ha numeri di telefono.
tm-primary = (principale)
tm-col-number = Numero
tm-col-register = Registro delle opposizioni
tm-col-directory = Elenchi pubblici
tm-register-never = Mai verificato sul Registro
tm-register-checked = Verificato il { $date }, valido fino al { $until }
tm-register-expired = Verificato il { $date }: scaduto il { $until }, va verificato di nuovo
tm-register-enrolled = Iscritto al Registro dal { $date }
tm-register-not-enrolled = Non iscritto
tm-directory-unrecorded = Non registrato: considerato non presente
tm-directory-listed = Presente in un elenco pubblico
tm-directory-not-listed = Non presente negli elenchi pubblici
tm-recorded = Fonte: { $source }; registrato il { $when } da { $by }.
tm-by-command-line = { $operator } (riga di comando)
tm-directory-record = Registra la presenza di un numero negli elenchi
tm-field-number = Numero
tm-field-listed = Presente in un elenco pubblico?
tm-choose = Scegli…
tm-listed-yes = Sì, presente
tm-listed-no = No, non presente
tm-field-directory-source = Elenco consultato
tm-field-directory-source-hint = Quale elenco e quando è stato consultato (es. «elenco telefonico pubblico, consultato il 2 marzo 2026»).

tm-customer = Rapporto contrattuale
tm-customer-none = Nessun rapporto contrattuale registrato.
tm-customer-in-force = Contratto in essere.
tm-customer-ends = Il contratto termina il { $date }; l'eccezione al Registro vale fino al { $until }.
tm-customer-ended = Il contratto è terminato il { $date }; l'eccezione al Registro vale fino al { $until }.
tm-customer-ended-expired = Il contratto è terminato il { $date }; l'eccezione al Registro è cessata il { $until }.
tm-customer-hint = Finché il contratto è in essere, e per { $days ->
    [one] { $days_text } giorno
   *[other] { $days_text } giorni
  } dalla sua cessazione, le nostre chiamate promozionali possono raggiungere un numero iscritto al Registro (L. 5/2018, art. 1); quelle per conto di terzi no.
tm-customer-record = Registra o cancella il rapporto contrattuale
tm-field-contract = Contratto
tm-contract-in-force = In essere
tm-contract-until = Termina o è terminato in una data
tm-contract-none = Nessuno (cancella)
tm-field-until = Termina o è terminato il
tm-field-until-hint = Solo per un contratto che termina: data e ora locali.
tm-field-customer-source = Fonte
tm-field-customer-source-hint = Il riferimento del contratto o la scheda nel CRM.

tm-requests = Chiamate richieste dall'interessato
tm-requests-none = L'interessato non ha chiesto di essere chiamato.
tm-col-asked = Richiesta il
tm-col-valid-until = Valida fino al
tm-col-state = Stato
tm-col-source = Fonte
tm-request-used = Usata dalla chiamata del { $date }
tm-request-open = Aperta
tm-request-lapsed = Scaduta
tm-request-record = Registra una chiamata richiesta dall'interessato
tm-field-requested-at = Richiesta il
tm-field-request-source = Come l'ha chiesta
tm-field-request-source-hint = Un modulo sul sito, una telefonata, una lettera…

tm-objection = Opposizione al marketing diretto
tm-objection-none = L'interessato non si oppone al marketing diretto.
tm-objection-said = Espressa il
tm-objection-recorded = Registrata il
tm-objection-recorded-unknown = non noto
tm-objection-how = Come
tm-objection-during-call = Ha rifiutato le chiamate promozionali durante una chiamata (campagna «{ $campaign }», operatore { $operator }).

tm-calls = Esiti delle chiamate
tm-calls-none = Nessuna chiamata registrata.
tm-calls-more = Le ultime { $shown_text } di { $total_text } chiamate; la cronologia qui sotto le elenca tutte.
tm-col-called-at = Quando
tm-col-outcome = Esito
tm-col-campaign = Campagna
tm-col-operator = Operatore
tm-call-record = Registra l'esito di una chiamata
tm-field-outcome = Esito
tm-field-campaign = Campagna
tm-field-operator = Operatore
tm-field-called-at = Quando
tm-call-hint = Se l'interessato rifiuta le chiamate promozionali, quella è la sua opposizione al marketing diretto: è registrata subito, dall'istante della chiamata, per ogni campagna (GDPR art. 21, par. 3).
tm-call-save = Registra la chiamata

tm-error-instant-required = Indica la data e l'ora.
tm-error-instant-time = Indica anche l'ora, oltre alla data.
tm-error-instant-invalid = Non è una data con l'ora.
tm-error-contract = Scegli se il contratto è in essere, termina in una data o non c'è.
tm-error-source = Indica la provenienza, da 1 a 500 caratteri.
tm-error-listed = Indica se il numero è presente in un elenco pubblico.
tm-error-phone = Scegli uno dei numeri dell'anagrafica.
tm-error-requested-future = L'interessato non può aver chiesto nel futuro.
tm-error-requested-lapsed = Questa richiesta è già scaduta ({ $days ->
    [one] { $days_text } giorno
   *[other] { $days_text } giorni
  }): la chiamata richiesta non può più essere fatta.
tm-error-requested-at = L'interessato non può aver chiesto nel futuro, né tanto tempo fa che la richiesta è scaduta.
tm-error-outcome = Scegli com'è finita la chiamata.
tm-error-campaign = Indica la campagna, da 1 a 200 caratteri su una riga.
tm-error-operator = Indica chi ha fatto la chiamata, da 1 a 128 caratteri su una riga.
tm-error-called-future = La chiamata non può essere nel futuro.
tm-error-called-old = La chiamata è di più di 30 giorni fa: non può più essere registrata.
tm-error-called-at = La chiamata non può essere nel futuro né di più di 30 giorni fa.

done-customer-set = Rapporto contrattuale registrato.
done-customer-cleared = Rapporto contrattuale cancellato.
done-directory-saved = Presenza negli elenchi registrata.
done-call-request-saved = Chiamata richiesta registrata.
done-call-recorded = Chiamata registrata.
done-call-recorded-objection = Chiamata registrata. Il rifiuto è l'opposizione dell'interessato al marketing diretto, registrata dall'istante della chiamata.
