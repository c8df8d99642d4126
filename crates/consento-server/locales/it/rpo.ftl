# Il Registro pubblico delle opposizioni (L. 5/2018, DPR 26/2022) e le liste delle campagne. Tenere allineato con en/rpo.ftl.
nav-rpo = Registro opposizioni
rpo-title = Registro delle opposizioni
rpo-intro = Prima del telemarketing i numeri italiani vanno verificati sul Registro pubblico delle opposizioni almeno ogni 15 giorni. Inviare al Registro la lista dei numeri da verificare, poi importarne qui l'esito: un numero trovato iscritto perde i consensi al marketing telefonico e alla cessione a terzi dati prima.
rpo-latest = Ultima verifica
rpo-never = Nessun esito del Registro è stato ancora importato.
rpo-answered-at = Esito del
rpo-valid-until = Vale fino al
rpo-no-longer-counts = (non vale più)
rpo-file = File
rpo-sha256 = SHA-256 del file
rpo-mode = Come l'esito elenca i numeri
rpo-mode-enrolled = Elenca i numeri iscritti
rpo-mode-callable = Elenca i numeri contattabili
rpo-mode-hint = Vale per le righe con il solo numero; una riga che ne riporta l'esito (3331234567;1) è letta come dice.
rpo-imported-by = Importato da
rpo-by-token = token API «{ $name }»
rpo-numbers = Numeri
rpo-enrolled = Iscritti
rpo-newly-enrolled = Iscritti per la prima volta
rpo-revoked = Consensi revocati
rpo-numbers-now = I numeri oggi
rpo-due-count = { $count ->
    [0] Nessun numero è da verificare.
    [one] Un numero è da verificare (mai verificato, o la sua verifica non vale più).
   *[other] { $count_text } numeri sono da verificare (mai verificati, o la loro verifica non vale più).
}
rpo-enrolled-count = { $count ->
    [0] Nessun numero è iscritto al Registro.
    [one] Un numero è iscritto al Registro.
   *[other] { $count_text } numeri sono iscritti al Registro.
}
rpo-checked-count = { $count ->
    [0] Nessun numero ha una verifica ancora valida.
    [one] Un numero ha una verifica ancora valida.
   *[other] { $count_text } numeri hanno una verifica ancora valida.
}
rpo-due-form = Scrivere i numeri
rpo-form-national = Senza prefisso internazionale (3331234567)
rpo-form-e164 = Con +39 (+393331234567)
rpo-due-download = Scarica la lista da inviare
rpo-due-hint = Un numero per riga, come li legge il Registro. Conservare il file: l'importazione lo chiede insieme all'esito.
rpo-import = Importa l'esito del Registro
rpo-answer-file = L'esito del Registro
rpo-answer-hint = Un numero per riga, seguito eventualmente da ; e 1 se è iscritto, 0 se non lo è.
rpo-sent-file = La lista inviata
rpo-sent-hint = La lista scaricata qui sopra e inviata al Registro: ogni numero dell'esito deve esservi compreso.
rpo-checked-at = Data e ora dell'esito
rpo-import-start = Importa
rpo-imported = Esito importato. Numeri: { $numbers_text }; iscritti: { $enrolled_text }; iscritti per la prima volta: { $newly_text }; consensi revocati: { $revoked_text }.
rpo-recent = Verifiche recenti
rpo-error-upload = Impossibile leggere il caricamento: scegliere di nuovo i file.
rpo-error-not-utf-8 = Il file non è testo UTF-8.
rpo-error-answer-missing = Scegliere il file dell'esito del Registro.
rpo-error-sent-missing = Scegliere il file della lista inviata.
rpo-error-mode = Scegliere come l'esito elenca i numeri.
rpo-error-checked-at-missing = Indicare data e ora dell'esito del Registro.
rpo-error-checked-at = Indicare data e ora, ad esempio 2026-03-02 10:00.
rpo-error-checked-at-future = L'esito del Registro non può essere nel futuro.
rpo-error-file-name = Il nome del file deve avere da 1 a 255 caratteri.
rpo-error-form = Scegliere come scrivere i numeri.
rpo-error-answer-lines = { $count ->
    [one] L'esito del Registro ha una riga non valida; non è stato importato nulla:
   *[other] L'esito del Registro ha { $count_text } righe non valide; non è stato importato nulla:
}
rpo-error-sent-lines = { $count ->
    [one] La lista inviata ha una riga non valida; non è stato importato nulla:
   *[other] La lista inviata ha { $count_text } righe non valide; non è stato importato nulla:
}
rpo-error-line = Riga { $line_text }: { $problem }
rpo-error-more-lines = { $count ->
    [one] e un'altra riga.
   *[other] e altre { $count_text } righe.
}
rpo-problem-not-a-phone-number = non è un numero di telefono.
rpo-problem-not-italian = non è un numero italiano: il Registro non ne tiene di altri paesi.
rpo-problem-not-in-list-sent = il numero non era nella lista inviata: l'esito risponde a un'altra lista.
rpo-problem-not-an-outcome = l'esito non è valido: scrivere 1 se il numero è iscritto, 0 se non lo è.
rpo-problem-contradicts = il numero ha un esito diverso alla riga { $line_text }.
rpo-campaign = Lista di una campagna
rpo-campaign-intro = I numeri che un dialer può chiamare ora per una campagna di telemarketing, ciascuno deciso come una chiamata (consenso, opposizioni, fasce orarie, chiamate mute, Registro), in CSV.
rpo-campaign-name = Campagna
rpo-campaign-leave-out = Escludi i numeri senza una verifica valida
rpo-campaign-count = Conta
rpo-campaign-download = Scarica CSV
rpo-campaign-counted-at = Conteggio alle { $at }.
rpo-campaign-callable = Numeri da chiamare ora
rpo-campaign-nobody-excluded = Nessun numero è escluso.
rpo-campaign-excluded = Esclusi, per causa
rpo-campaign-cause = Causa
rpo-campaign-error-name = Indicare il nome della campagna: da 1 a 200 caratteri su una riga.
rpo-campaign-unchecked = { $count ->
    [one] Un numero non ha una verifica sul Registro ancora valida: scaricare la lista da verificare, importare l'esito del Registro, oppure escluderlo.
   *[other] { $count_text } numeri non hanno una verifica sul Registro ancora valida: scaricare la lista da verificare, importare l'esito del Registro, oppure escluderli.
}
rpo-cause-channel-off = Chiamate disattivate dalla persona
rpo-cause-suppressed = Numero nella lista di esclusione
rpo-cause-outside-calling-hours = Fuori dalle fasce orarie
rpo-cause-silent-call-cooldown = Raggiunto da una chiamata muta di recente
rpo-cause-rpo-check-missing = Mai verificato sul Registro
rpo-cause-rpo-check-expired = La sua verifica non vale più
rpo-cause-rpo-enrolled = Iscritto al Registro
